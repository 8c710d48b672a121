// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {LineageFixture} from "./utils/LineageFixture.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {PaymentChannels} from "../src/PaymentChannels.sol";

/// @notice PaymentChannels' royalty stack: flowRoyalties, withdrawals of models and datasets.
contract PaymentChannelsRoyaltyStackTest is LineageFixture {
    uint256 internal constant DEPOSIT = 10_000_000;

    address internal tuner;
    address internal dataOwner;
    uint256 internal datasetId;
    uint256 internal fineTune;

    function setUp() public override {
        super.setUp();
        tuner = makeAddr("tuner");
        dataOwner = makeAddr("dataOwner");
        datasetId = _registerDataset(dataOwner);
        // The fine-tune pays its base 30% and its dataset 15% of its royalty (10%).
        fineTune = _registerOfferedDerivative(tuner, 1000, _parents(modelId, FINE_TUNE, 3000), _data(datasetId, 1500));
    }

    /// @dev Opens a channel to the fine-tune and redeems `amount`.
    function _payFineTune(uint256 amount) internal {
        bytes32 channelId = _open(sender, provider, fineTune, amount);
        _redeem(channelId, 0, amount);
    }

    /// @dev Pays the fine-tune `amount` through a channel from another sender, keyed by its name.
    function _payFineTuneFrom(address from, uint256 amount) internal {
        (address payer, uint256 key) = makeAddrAndKey("second");
        assertEq(payer, from);
        bytes32 channelId = _open(payer, provider, fineTune, amount);
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, amount);
        bytes memory signature = signDigest(key, channels.hashVoucher(voucher));
        vm.prank(provider);
        channels.redeem(voucher, signature);
    }

    function test_redeem_creditsWholeRoyaltyToTheModel() public {
        _payFineTune(1_000_003);
        // royalty 100,000 (rounded down), fee 25,000, provider the rest: the lineage is not read.
        assertEq(channels.pendingRoyalties(fineTune), 100_000);
        assertEq(channels.modelEarnings(fineTune), 100_000);
        assertEq(channels.earnings(provider), 1_000_003 - 100_000 - 25_000);
        assertEq(channels.withdrawableModelEarnings(fineTune), 100_000 - 30_000 - 15_000);
    }

    function test_flowRoyalties_paysParentDatasetAndKeepsRestExactly() public {
        _payFineTune(1_000_000);
        vm.expectEmit(address(channels));
        emit PaymentChannels.ParentShareFlowed(fineTune, modelId, 30_000);
        vm.expectEmit(address(channels));
        emit PaymentChannels.DatasetShareFlowed(fineTune, datasetId, 15_000);
        vm.expectEmit(address(channels));
        emit PaymentChannels.RoyaltiesFlowed(fineTune, 100_000, 55_000);
        vm.prank(stranger);
        assertEq(channels.flowRoyalties(fineTune), 55_000);
        assertEq(channels.pendingRoyalties(fineTune), 0);
        assertEq(channels.modelEarnings(fineTune), 55_000);
        assertEq(channels.pendingRoyalties(modelId), 30_000);
        assertEq(channels.datasetEarnings(datasetId), 15_000);
    }

    function test_flowRoyalties_roundsSharesDownAndModelKeepsDust() public {
        _payFineTune(1009); // royalty 100, fee 25: 30% of 100 = 30, 15% = 15, kept 55.
        channels.flowRoyalties(fineTune);
        _payFineTuneFrom(makeAddr("second"), 99); // royalty 9 -> parent 2 (2.7), dataset 1 (1.35), kept 6
        assertEq(channels.flowRoyalties(fineTune), 6);
        assertEq(channels.pendingRoyalties(modelId), 32);
        assertEq(channels.datasetEarnings(datasetId), 16);
        assertEq(channels.modelEarnings(fineTune), 61);
    }

    function test_flowRoyalties_revertsWhenNothingPending() public {
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NothingToFlow.selector, fineTune));
        channels.flowRoyalties(fineTune);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NothingToFlow.selector, 777));
        channels.flowRoyalties(777);
    }

    function test_flowRoyalties_isTransitive() public {
        // base <- fineTune (30%) <- quant (50%): the quant's royalty pays the fine-tune half, of which
        // the base gets 30%.
        address quantOwner = makeAddr("quantOwner");
        uint256 quant = _registerOfferedDerivative(quantOwner, 1000, _parents(fineTune, QUANTISATION, 5000), _noData());
        bytes32 channelId = _open(sender, provider, quant, 1_000_000);
        _redeem(channelId, 0, 1_000_000);
        assertEq(channels.flowRoyalties(quant), 50_000);
        assertEq(channels.flowRoyalties(fineTune), 27_500); // 50,000 - 15,000 - 7,500
        assertEq(channels.datasetEarnings(datasetId), 7_500);
        assertEq(channels.flowRoyalties(modelId), 15_000); // the base has no lineage: keeps all
        vm.prank(creator);
        assertEq(channels.withdrawModelEarnings(modelId, creator), 15_000);
        assertEq(usd.balanceOf(creator), 15_000);
    }

    function test_withdrawModelEarnings_flowsFirstAndPaysCurrentOwner() public {
        _payFineTune(1_000_000);
        address buyer = makeAddr("buyer");
        vm.prank(tuner);
        models.transferFrom(tuner, buyer, fineTune);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NotModelOwner.selector, fineTune, tuner));
        vm.prank(tuner);
        channels.withdrawModelEarnings(fineTune, tuner);
        vm.prank(buyer);
        assertEq(channels.withdrawModelEarnings(fineTune, buyer), 55_000);
        assertEq(usd.balanceOf(buyer), 55_000);
        assertEq(channels.pendingRoyalties(modelId), 30_000);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NoModelEarnings.selector, fineTune));
        vm.prank(buyer);
        channels.withdrawModelEarnings(fineTune, buyer);
    }

    function test_withdrawDatasetEarnings_paysCurrentOwner() public {
        _payFineTune(1_000_000);
        channels.flowRoyalties(fineTune);
        address buyer = makeAddr("dataBuyer");
        vm.prank(dataOwner);
        datasets.transferFrom(dataOwner, buyer, datasetId);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NotDatasetOwner.selector, datasetId, dataOwner));
        vm.prank(dataOwner);
        channels.withdrawDatasetEarnings(datasetId, dataOwner);
        vm.expectEmit(address(channels));
        emit PaymentChannels.DatasetEarningsWithdrawn(datasetId, buyer, stranger, 15_000);
        vm.prank(buyer);
        assertEq(channels.withdrawDatasetEarnings(datasetId, stranger), 15_000);
        assertEq(usd.balanceOf(stranger), 15_000);
        assertEq(channels.datasetEarnings(datasetId), 0);
    }

    function test_withdrawDatasetEarnings_refusals() public {
        vm.expectRevert(PaymentChannels.ZeroRecipient.selector);
        vm.prank(dataOwner);
        channels.withdrawDatasetEarnings(datasetId, address(0));
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NoDatasetEarnings.selector, datasetId));
        vm.prank(dataOwner);
        channels.withdrawDatasetEarnings(datasetId, dataOwner);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NotDatasetOwner.selector, 99, dataOwner));
        vm.prank(dataOwner);
        channels.withdrawDatasetEarnings(99, dataOwner);
    }

    function test_creditRoyalty_flowsLikeARedeem() public {
        usd.mint(stranger, 1000);
        vm.startPrank(stranger);
        usd.approve(address(channels), 1000);
        vm.expectEmit(address(channels));
        emit PaymentChannels.RoyaltyCredited(fineTune, stranger, 1000);
        channels.creditRoyalty(fineTune, 1000);
        vm.stopPrank();
        assertEq(channels.flowRoyalties(fineTune), 550);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.UnknownModel.selector, 999));
        channels.creditRoyalty(999, 1);
        vm.expectRevert(PaymentChannels.ZeroAmount.selector);
        channels.creditRoyalty(fineTune, 0);
    }

    /// @notice Every redeemed unit ends at exactly one party, at every level of a 3-deep stack,
    ///         and the stack never takes more than the royalty.
    function testFuzz_redeemAndFlow_paysEveryUnitOnce(uint256 amount, uint16 share1, uint16 share2, uint16 dataShare)
        public
    {
        amount = bound(amount, 1, 1e15);
        share1 = uint16(bound(share1, 0, 9000));
        dataShare = uint16(bound(dataShare, 0, 9000 - share1));
        share2 = uint16(bound(share2, 0, 9000));
        uint256 ds = _registerDataset(dataOwner);
        uint256 mid = _registerDerivative(tuner, 2000, _parents(modelId, FINE_TUNE, share1), _data(ds, dataShare));
        uint256 leaf = _registerOfferedDerivative(stranger, 5000, _parents(mid, MERGE, share2), _noData());

        bytes32 channelId = _open(sender, provider, leaf, amount);
        _redeem(channelId, 0, amount);
        uint256 royalty = amount * 5000 / 10_000;
        uint256 fee = amount * FEE_BPS / 10_000;
        assertEq(channels.earnings(provider), amount - royalty - fee, "provider share");
        assertEq(channels.earnings(fundingPool), fee, "fee");

        uint256 leafExpected = channels.withdrawableModelEarnings(leaf);
        if (royalty != 0) channels.flowRoyalties(leaf);
        if (channels.pendingRoyalties(mid) != 0) channels.flowRoyalties(mid);
        if (channels.pendingRoyalties(modelId) != 0) channels.flowRoyalties(modelId);
        assertEq(channels.modelEarnings(leaf), leafExpected, "withdrawable view matches the flow");

        uint256 toMid = royalty * share2 / 10_000;
        uint256 toBase = toMid * share1 / 10_000;
        uint256 toData = toMid * dataShare / 10_000;
        assertEq(channels.modelEarnings(leaf), royalty - toMid, "leaf keeps the rest");
        assertEq(channels.modelEarnings(mid), toMid - toBase - toData, "mid keeps the rest");
        assertEq(channels.modelEarnings(modelId), toBase, "base");
        assertEq(channels.datasetEarnings(ds), toData, "dataset");
        assertEq(
            channels.earnings(provider) + channels.earnings(fundingPool) + channels.modelEarnings(leaf)
                + channels.modelEarnings(mid) + channels.modelEarnings(modelId) + channels.datasetEarnings(ds),
            amount,
            "every redeemed unit is owed to exactly one party"
        );
        assertLe(toMid, royalty, "the stack never pays more than the royalty");
        assertEq(usd.balanceOf(address(channels)), amount, "the contract holds what it owes");
    }
}
