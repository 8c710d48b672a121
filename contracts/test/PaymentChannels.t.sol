// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Fixture} from "./utils/Fixture.sol";
import {TestToken} from "../src/TestToken.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {ProviderRegistry} from "../src/ProviderRegistry.sol";
import {PaymentChannels} from "../src/PaymentChannels.sol";
import {FeeOnTransferToken} from "./mocks/FeeOnTransferToken.sol";
import {FalseReturningToken} from "./mocks/FalseReturningToken.sol";
import {HookToken, ITokenHooks} from "./mocks/HookToken.sol";
import {MockERC1271Wallet} from "./mocks/MockERC1271Wallet.sol";
import {HostileERC1271Wallet} from "./mocks/HostileERC1271Wallet.sol";

contract PaymentChannelsTest is Fixture {
    uint256 internal constant DEPOSIT = 10e6;

    // ---------------------------------------------------------------- helpers

    function _royalty(uint256 amount) internal pure returns (uint256) {
        return amount * ROYALTY_BPS / 10_000;
    }

    /// @dev Everything credited and not withdrawn on the default model's channels: the provider's
    ///      share, the funding pool's fee and the model's royalty.
    function _credited() internal view returns (uint256) {
        return channels.earnings(provider) + channels.earnings(fundingPool) + channels.modelEarnings(modelId);
    }

    function _withdrawModelEarnings(uint256 model, address owner, address to) internal returns (uint256) {
        vm.prank(owner);
        return channels.withdrawModelEarnings(model, to);
    }

    function _startClose(bytes32 channelId) internal returns (uint64 closesAt) {
        vm.prank(sender);
        channels.startClose(channelId);
        closesAt = channels.getChannel(channelId).closesAt;
    }

    function _closeAndWithdraw(bytes32 channelId) internal returns (uint256 refund) {
        uint64 closesAt = _startClose(channelId);
        vm.warp(closesAt);
        vm.prank(sender);
        refund = channels.withdraw(channelId);
    }

    function _batch(PaymentChannels.Voucher memory a, PaymentChannels.Voucher memory b)
        internal
        view
        returns (PaymentChannels.Voucher[] memory vouchers, bytes[] memory signatures)
    {
        vouchers = new PaymentChannels.Voucher[](2);
        signatures = new bytes[](2);
        vouchers[0] = a;
        vouchers[1] = b;
        signatures[0] = _sign(senderKey, a);
        signatures[1] = _sign(senderKey, b);
    }

    // ---------------------------------------------------------------- constructor

    function test_constructor_setsParameters() public view {
        assertEq(address(channels.token()), address(usd));
        assertEq(address(channels.models()), address(models));
        assertEq(address(channels.providers()), address(providers));
        assertEq(channels.fundingPool(), fundingPool);
        assertEq(uint256(channels.protocolFeeBps()), uint256(FEE_BPS));
        assertEq(uint256(channels.challengePeriod()), uint256(CHALLENGE_PERIOD));
        assertEq(uint256(channels.MAX_FEE_BPS()), 1000);
        assertEq(
            channels.VOUCHER_TYPEHASH(), keccak256("Voucher(bytes32 channelId,uint64 epoch,uint256 cumulativeAmount)")
        );
        assertEq(
            channels.RECEIPT_TYPEHASH(),
            keccak256(
                "Receipt(bytes32 requestId,bytes32 channelId,bytes32 weightsHash,uint64 inputTokens,uint64 outputTokens,uint256 cost,uint256 cumulativeOwed,bytes32 requestHash,bytes32 responseHash)"
            )
        );
    }

    function test_constructor_acceptsMaximumFee() public {
        PaymentChannels pc = new PaymentChannels(usd, models, providers, fundingPool, 1000, CHALLENGE_PERIOD);
        assertEq(uint256(pc.protocolFeeBps()), 1000);
    }

    function test_constructor_revertsWhenFeeTooHigh() public {
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.FeeTooHigh.selector, uint16(1001), uint16(1000)));
        new PaymentChannels(usd, models, providers, fundingPool, 1001, CHALLENGE_PERIOD);
    }

    function test_constructor_revertsWhenFundingPoolZero() public {
        vm.expectRevert(PaymentChannels.ZeroFundingPool.selector);
        new PaymentChannels(usd, models, providers, address(0), FEE_BPS, CHALLENGE_PERIOD);
    }

    function test_constructor_revertsWhenChallengePeriodZero() public {
        vm.expectRevert(PaymentChannels.ZeroChallengePeriod.selector);
        new PaymentChannels(usd, models, providers, fundingPool, FEE_BPS, 0);
    }

    function test_domainSeparator_matchesEip712Domain() public view {
        PaymentChannels.Voucher memory voucher = _voucher(bytes32(uint256(1)), 0, 5);
        assertEq(channels.hashVoucher(voucher), _digest(address(channels), block.chainid, voucher));
        (, string memory name, string memory version, uint256 chainId, address verifyingContract,,) =
            channels.eip712Domain();
        assertEq(name, "Gotong PaymentChannels");
        assertEq(version, "1");
        assertEq(chainId, block.chainid);
        assertEq(verifyingContract, address(channels));
        bytes32 expected = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Gotong PaymentChannels"),
                keccak256("1"),
                block.chainid,
                address(channels)
            )
        );
        assertEq(channels.domainSeparator(), expected);
    }

    function test_channelIdOf_hashesSenderProviderModelAndSalt() public view {
        assertEq(channels.channelIdOf(sender, provider, modelId, 0), keccak256(abi.encode(sender, provider, modelId, 0)));
        assertEq(channels.channelIdOf(sender, provider, modelId, 7), keccak256(abi.encode(sender, provider, modelId, 7)));
    }

    function testFuzz_channelIdOf_differsPerSalt(uint256 a, uint256 b) public view {
        vm.assume(a != b);
        assertTrue(channels.channelIdOf(sender, provider, modelId, a) != channels.channelIdOf(sender, provider, modelId, b));
    }

    // ---------------------------------------------------------------- open

    function test_open_escrowsDepositAndSnapshotsTerms() public {
        bytes32 expectedId = channels.channelIdOf(sender, provider, modelId, 0);
        usd.mint(sender, DEPOSIT);
        vm.prank(sender);
        usd.approve(address(channels), DEPOSIT);

        vm.expectEmit(address(channels));
        emit PaymentChannels.ChannelOpened(expectedId, sender, provider, modelId, DEPOSIT, ROYALTY_BPS, FEE_BPS, 0);
        vm.prank(sender);
        bytes32 channelId = channels.open(provider, modelId, 0, DEPOSIT);

        assertEq(channelId, expectedId);
        PaymentChannels.Channel memory c = channels.getChannel(channelId);
        assertEq(c.sender, sender);
        assertEq(c.provider, provider);
        assertEq(c.modelId, modelId);
        assertEq(c.deposit, DEPOSIT);
        assertEq(c.redeemed, 0);
        assertEq(uint256(c.royaltyBps), uint256(ROYALTY_BPS));
        assertEq(uint256(c.feeBps), uint256(FEE_BPS));
        assertEq(uint256(c.epoch), 0);
        assertEq(uint256(c.closesAt), 0);
        assertEq(usd.balanceOf(address(channels)), DEPOSIT);
        assertEq(usd.balanceOf(sender), 0);
    }

    function test_open_revertsWhenAmountZero() public {
        vm.expectRevert(PaymentChannels.ZeroAmount.selector);
        vm.prank(sender);
        channels.open(provider, modelId, 0, 0);
    }

    function test_open_revertsWhenProviderNotRegistered() public {
        usd.mint(sender, DEPOSIT);
        vm.prank(sender);
        usd.approve(address(channels), DEPOSIT);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.OfferNotFound.selector, stranger, modelId));
        vm.prank(sender);
        channels.open(stranger, modelId, 0, DEPOSIT);
    }

    function test_open_revertsWhenModelNotOffered() public {
        uint256 otherModel = _registerModel(creator, 0);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.OfferNotFound.selector, provider, otherModel));
        vm.prank(sender);
        channels.open(provider, otherModel, 0, DEPOSIT);
    }

    function test_open_revertsWhenProviderUnderstaked() public {
        vm.prank(provider);
        providers.requestUnstake(1);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.OfferNotFound.selector, provider, modelId));
        vm.prank(sender);
        channels.open(provider, modelId, 0, DEPOSIT);
    }

    function test_open_revertsWhenChannelAlreadyOpen() public {
        bytes32 channelId = _open(DEPOSIT);
        usd.mint(sender, DEPOSIT);
        vm.prank(sender);
        usd.approve(address(channels), DEPOSIT);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ChannelAlreadyOpen.selector, channelId));
        vm.prank(sender);
        channels.open(provider, modelId, 0, DEPOSIT);
    }

    function test_open_revertsWhenChannelClosingButNotWithdrawn() public {
        bytes32 channelId = _open(DEPOSIT);
        uint64 closesAt = _startClose(channelId);
        vm.warp(closesAt + 1);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ChannelAlreadyOpen.selector, channelId));
        vm.prank(sender);
        channels.open(provider, modelId, 0, DEPOSIT);
    }

    function test_open_separateChannelsPerModelAndSender() public {
        uint256 otherModel = _registerOfferedModel(creator, 0);
        bytes32 a = _open(DEPOSIT);
        bytes32 b = _open(sender, provider, otherModel, DEPOSIT);
        bytes32 c = _open(stranger, provider, modelId, DEPOSIT);
        assertTrue(a != b && a != c && b != c, "distinct ids");
        assertEq(usd.balanceOf(address(channels)), 3 * DEPOSIT);
    }

    /// @dev Mints and approves `amount`, then opens `sender`'s channel to `provider` for `modelId` under `salt`.
    function _openSalted(uint256 salt, uint256 amount) internal returns (bytes32 channelId) {
        usd.mint(sender, amount);
        vm.startPrank(sender);
        usd.approve(address(channels), amount);
        channelId = channels.open(provider, modelId, salt, amount);
        vm.stopPrank();
    }

    function test_open_newSaltOpensBesideAClosingChannel() public {
        bytes32 closing = _open(DEPOSIT);
        _redeem(closing, 0, 300);
        uint64 closesAt = _startClose(closing);

        bytes32 expectedId = channels.channelIdOf(sender, provider, modelId, 1);
        usd.mint(sender, DEPOSIT);
        vm.prank(sender);
        usd.approve(address(channels), DEPOSIT);
        vm.expectEmit(address(channels));
        emit PaymentChannels.ChannelOpened(expectedId, sender, provider, modelId, DEPOSIT, ROYALTY_BPS, FEE_BPS, 0);
        vm.prank(sender);
        bytes32 fresh = channels.open(provider, modelId, 1, DEPOSIT);
        assertEq(fresh, expectedId);
        assertTrue(fresh != closing, "a second channel for the same pair");

        // The provider still redeems the closing channel during its challenge period, and is paid
        // on the fresh one: each channel keeps its own deposit and count.
        assertEq(_redeem(closing, 0, 500), 200);
        assertEq(_redeem(fresh, 0, 700), 700);
        assertEq(channels.getChannel(closing).redeemed, 500);
        assertEq(channels.getChannel(fresh).redeemed, 700);
        assertEq(uint256(channels.getChannel(fresh).closesAt), 0, "the fresh channel is not closing");

        vm.warp(closesAt);
        vm.prank(sender);
        assertEq(channels.withdraw(closing), DEPOSIT - 500, "the closing channel refunds deposit - redeemed");
        assertEq(_redeem(fresh, 0, 900), 200, "the fresh channel pays on after the old one is withdrawn");
        assertEq(usd.balanceOf(sender), DEPOSIT - 500);
        assertEq(
            usd.balanceOf(address(channels)), (DEPOSIT - 900) + 500 + 900, "escrow = unredeemed deposit + credited earnings"
        );
        assertEq(_credited(), 500 + 900);
    }

    function test_open_revertsWhenSameSaltAlreadyOpen() public {
        bytes32 channelId = _openSalted(3, DEPOSIT);
        usd.mint(sender, DEPOSIT);
        vm.prank(sender);
        usd.approve(address(channels), DEPOSIT);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ChannelAlreadyOpen.selector, channelId));
        vm.prank(sender);
        channels.open(provider, modelId, 3, DEPOSIT);
    }

    function test_redeem_voucherOfOneSaltCannotPayAnother() public {
        bytes32 a = _openSalted(0, DEPOSIT);
        bytes32 b = _openSalted(1, DEPOSIT);
        bytes memory signatureForA = _sign(senderKey, _voucher(a, 0, 100));
        _expectRedeemRevert(_voucher(b, 0, 100), signatureForA, PaymentChannels.InvalidVoucherSignature.selector);
        assertEq(channels.getChannel(b).redeemed, 0);
    }

    function testFuzz_open_saltedChannelsConserveFunds(uint256 saltA, uint256 saltB, uint256 paidA, uint256 paidB)
        public
    {
        vm.assume(saltA != saltB);
        paidA = bound(paidA, 1, DEPOSIT);
        paidB = bound(paidB, 1, DEPOSIT);
        bytes32 a = _openSalted(saltA, DEPOSIT);
        bytes32 b = _openSalted(saltB, DEPOSIT);
        _redeem(a, 0, paidA);
        _redeem(b, 0, paidB);
        uint256 refundA = _closeAndWithdraw(a);
        uint256 refundB = _closeAndWithdraw(b);
        assertEq(refundA, DEPOSIT - paidA);
        assertEq(refundB, DEPOSIT - paidB);
        assertEq(_credited(), paidA + paidB);
        assertEq(usd.balanceOf(address(channels)), paidA + paidB, "only earnings stay in escrow");
    }

    function test_open_creditsReceivedAmountOfFeeOnTransferToken() public {
        FeeOnTransferToken feeToken = new FeeOnTransferToken(100); // 1% burned per transfer
        PaymentChannels pc =
            new PaymentChannels(IERC20(address(feeToken)), models, providers, fundingPool, FEE_BPS, CHALLENGE_PERIOD);
        feeToken.mint(sender, 1010);
        vm.startPrank(sender);
        feeToken.approve(address(pc), type(uint256).max);
        bytes32 channelId = pc.open(provider, modelId, 0, 1000);
        assertEq(pc.getChannel(channelId).deposit, 990, "credited what arrived");
        pc.topUp(channelId, 10);
        vm.stopPrank();
        assertEq(pc.getChannel(channelId).deposit, 990 + 10 - 0, "1% of 10 rounds to 0");
        assertEq(feeToken.balanceOf(address(pc)), pc.getChannel(channelId).deposit, "deposit == balance");

        // Everything credited can be paid out again.
        vm.prank(sender);
        pc.startClose(channelId);
        vm.warp(block.timestamp + CHALLENGE_PERIOD);
        vm.prank(sender);
        pc.withdraw(channelId);
        assertEq(feeToken.balanceOf(address(pc)), 0);
    }

    function test_open_revertsWhenTokenReturnsFalse() public {
        FalseReturningToken falseToken = new FalseReturningToken();
        PaymentChannels pc =
            new PaymentChannels(IERC20(address(falseToken)), models, providers, fundingPool, FEE_BPS, CHALLENGE_PERIOD);
        falseToken.mint(sender, DEPOSIT);
        vm.startPrank(sender);
        falseToken.approve(address(pc), DEPOSIT);
        vm.expectRevert(abi.encodeWithSelector(SafeERC20.SafeERC20FailedOperation.selector, address(falseToken)));
        pc.open(provider, modelId, 0, DEPOSIT);
        vm.stopPrank();
    }

    /// @dev Makes the registry's next model id `nextId` (the registry numbers models from 1).
    function _setNextModelId(uint256 nextId) internal {
        vm.store(address(models), bytes32(uint256(6)), bytes32(nextId - 1)); // ModelRegistry._modelCount
        assertEq(models.modelCount(), nextId - 1, "_modelCount slot");
    }

    function test_open_acceptsLargestModelId() public {
        _setNextModelId(type(uint32).max);
        uint256 model = _registerOfferedModel(creator, ROYALTY_BPS);
        assertEq(model, type(uint32).max);
        bytes32 channelId = _open(sender, provider, model, DEPOSIT);
        assertEq(channels.getChannel(channelId).modelId, model);
        assertEq(_redeem(channelId, 0, 1000), 1000);
        assertEq(channels.modelEarnings(model), 100);
    }

    function test_open_revertsWhenModelIdTooLarge() public {
        _setNextModelId(uint256(type(uint32).max) + 1);
        uint256 model = _registerOfferedModel(creator, ROYALTY_BPS);
        usd.mint(sender, DEPOSIT);
        vm.startPrank(sender);
        usd.approve(address(channels), DEPOSIT);
        vm.expectRevert(
            abi.encodeWithSelector(PaymentChannels.ModelIdTooLarge.selector, model, uint256(type(uint32).max))
        );
        channels.open(provider, model, 0, DEPOSIT);
        vm.stopPrank();
    }

    function test_open_royaltyChangeAffectsOnlyLaterChannels() public {
        bytes32 before = _open(DEPOSIT);
        vm.prank(creator);
        models.setRoyalty(modelId, 3000);
        bytes32 later = _open(stranger, provider, modelId, DEPOSIT);
        assertEq(uint256(channels.getChannel(before).royaltyBps), uint256(ROYALTY_BPS));
        assertEq(uint256(channels.getChannel(later).royaltyBps), 3000);

        _redeem(before, 0, 1000);
        assertEq(channels.modelEarnings(modelId), 100, "old terms");
    }

    function test_open_reopensInNextEpochAfterWithdraw() public {
        bytes32 channelId = _open(DEPOSIT);
        _closeAndWithdraw(channelId);
        usd.mint(sender, 5);
        vm.prank(sender);
        usd.approve(address(channels), 5);
        vm.expectEmit(address(channels));
        emit PaymentChannels.ChannelOpened(channelId, sender, provider, modelId, 5, ROYALTY_BPS, FEE_BPS, 1);
        vm.prank(sender);
        assertEq(channels.open(provider, modelId, 0, 5), channelId);
        PaymentChannels.Channel memory c = channels.getChannel(channelId);
        assertEq(uint256(c.epoch), 1);
        assertEq(c.deposit, 5);
        assertEq(c.redeemed, 0);
        assertEq(uint256(c.closesAt), 0);
    }

    // ---------------------------------------------------------------- topUp

    function test_topUp_increasesDepositAndEmits() public {
        bytes32 channelId = _open(DEPOSIT);
        usd.mint(sender, 7);
        vm.startPrank(sender);
        usd.approve(address(channels), 7);
        vm.expectEmit(address(channels));
        emit PaymentChannels.ChannelToppedUp(channelId, sender, 7, DEPOSIT + 7);
        channels.topUp(channelId, 7);
        vm.stopPrank();
        assertEq(channels.getChannel(channelId).deposit, DEPOSIT + 7);
        assertEq(usd.balanceOf(address(channels)), DEPOSIT + 7);
    }

    function test_topUp_revertsWhenNotSender() public {
        bytes32 channelId = _open(DEPOSIT);
        usd.mint(stranger, 7);
        vm.prank(stranger);
        usd.approve(address(channels), 7);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NotChannelSender.selector, channelId, stranger));
        vm.prank(stranger);
        channels.topUp(channelId, 7);
    }

    function test_topUp_revertsWhenClosing() public {
        bytes32 channelId = _open(DEPOSIT);
        uint64 closesAt = _startClose(channelId);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ChannelAlreadyClosing.selector, channelId, closesAt));
        vm.prank(sender);
        channels.topUp(channelId, 1);
    }

    function test_topUp_revertsWhenZero() public {
        bytes32 channelId = _open(DEPOSIT);
        vm.expectRevert(PaymentChannels.ZeroAmount.selector);
        vm.prank(sender);
        channels.topUp(channelId, 0);
    }

    function test_topUp_revertsWhenChannelNotOpen() public {
        bytes32 channelId = channels.channelIdOf(sender, provider, modelId, 0);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ChannelNotOpen.selector, channelId));
        vm.prank(sender);
        channels.topUp(channelId, 1);
    }

    function test_topUp_letsVoucherAboveDepositPayTheRestLater() public {
        bytes32 channelId = _open(100);
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, 150);
        bytes memory signature = _sign(senderKey, voucher);
        vm.prank(provider);
        assertEq(channels.redeem(voucher, signature), 100, "capped at deposit");

        usd.mint(sender, 100);
        vm.startPrank(sender);
        usd.approve(address(channels), 100);
        channels.topUp(channelId, 100);
        vm.stopPrank();

        vm.prank(provider);
        assertEq(channels.redeem(voucher, signature), 50, "excess paid after top-up");
        assertEq(channels.getChannel(channelId).redeemed, 150);
        _expectRedeemRevert(
            voucher, signature, abi.encodeWithSelector(PaymentChannels.VoucherNotIncreasing.selector, 150, 150)
        );
    }

    // ---------------------------------------------------------------- redeem

    function test_redeem_splitsAndCreditsEarnings() public {
        bytes32 channelId = _open(DEPOSIT);
        uint256 amount = 1_000_000;
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, amount);
        bytes memory signature = _sign(senderKey, voucher);

        uint256 royalty = _royalty(amount);
        uint256 fee = _fee(amount);
        vm.expectEmit(address(channels));
        emit PaymentChannels.VoucherRedeemed(
            channelId, provider, modelId, amount, amount, amount - royalty - fee, royalty, fee
        );
        vm.prank(provider);
        uint256 paid = channels.redeem(voucher, signature);

        assertEq(paid, amount);
        assertEq(royalty, 100_000);
        assertEq(fee, 25_000);
        assertEq(channels.earnings(provider), 875_000);
        assertEq(channels.modelEarnings(modelId), 100_000, "royalty accrues to the model");
        assertEq(channels.earnings(creator), 0, "not to its owner's account");
        assertEq(channels.earnings(fundingPool), 25_000);
        assertEq(channels.getChannel(channelId).redeemed, amount);
        assertEq(usd.balanceOf(address(channels)), DEPOSIT, "nothing leaves on redeem");
    }

    function test_redeem_paysOnlyTheIncrease() public {
        bytes32 channelId = _open(DEPOSIT);
        assertEq(_redeem(channelId, 0, 100), 100);
        assertEq(_redeem(channelId, 0, 250), 150);
        assertEq(_redeem(channelId, 0, 251), 1);
        assertEq(channels.getChannel(channelId).redeemed, 251);
        assertEq(_credited(), 251, "sum paid");
    }

    function test_redeem_revertsWhenVoucherIsStale() public {
        bytes32 channelId = _open(DEPOSIT);
        _redeem(channelId, 0, 500);
        PaymentChannels.Voucher memory older = _voucher(channelId, 0, 400);
        bytes memory signature = _sign(senderKey, older);
        _expectRedeemRevert(
            older, signature, abi.encodeWithSelector(PaymentChannels.VoucherNotIncreasing.selector, 500, 400)
        );
    }

    function test_redeem_sameVoucherTwicePaysOnce() public {
        bytes32 channelId = _open(DEPOSIT);
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, 500);
        bytes memory signature = _sign(senderKey, voucher);
        vm.prank(provider);
        channels.redeem(voucher, signature);
        _expectRedeemRevert(
            voucher, signature, abi.encodeWithSelector(PaymentChannels.VoucherNotIncreasing.selector, 500, 500)
        );
        assertEq(_credited(), 500);
    }

    function test_redeem_revertsWhenZeroVoucher() public {
        bytes32 channelId = _open(DEPOSIT);
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, 0);
        bytes memory signature = _sign(senderKey, voucher);
        _expectRedeemRevert(
            voucher, signature, abi.encodeWithSelector(PaymentChannels.VoucherNotIncreasing.selector, 0, 0)
        );
    }

    function test_redeem_capsAtDeposit() public {
        bytes32 channelId = _open(100);
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, 1000);
        bytes memory signature = _sign(senderKey, voucher);
        vm.expectEmit(address(channels));
        emit PaymentChannels.VoucherRedeemed(channelId, provider, modelId, 1000, 100, 100 - 10 - 2, 10, 2);
        vm.prank(provider);
        assertEq(channels.redeem(voucher, signature), 100);
        assertEq(channels.getChannel(channelId).redeemed, 100);
        // Fully redeemed: the same voucher pays nothing more until a top-up.
        _expectRedeemRevert(
            voucher, signature, abi.encodeWithSelector(PaymentChannels.VoucherNotIncreasing.selector, 100, 1000)
        );
    }

    function test_redeem_revertsWhenCallerNotProvider() public {
        bytes32 channelId = _open(DEPOSIT);
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, 100);
        bytes memory signature = _sign(senderKey, voucher);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NotChannelProvider.selector, channelId, stranger));
        vm.prank(stranger);
        channels.redeem(voucher, signature);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NotChannelProvider.selector, channelId, sender));
        vm.prank(sender);
        channels.redeem(voucher, signature);
    }

    function test_redeem_revertsWhenChannelNotOpen() public {
        bytes32 channelId = channels.channelIdOf(sender, provider, modelId, 0);
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, 100);
        bytes memory signature = _sign(senderKey, voucher);
        _expectRedeemRevert(
            voucher, signature, abi.encodeWithSelector(PaymentChannels.ChannelNotOpen.selector, channelId)
        );
    }

    function test_redeem_revertsWhenWrongEpoch() public {
        bytes32 channelId = _open(DEPOSIT);
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 1, 100);
        bytes memory signature = _sign(senderKey, voucher);
        _expectRedeemRevert(
            voucher, signature, abi.encodeWithSelector(PaymentChannels.WrongEpoch.selector, uint64(0), uint64(1))
        );
    }

    function test_redeem_refusesReplayOnReopenedChannel() public {
        bytes32 channelId = _open(DEPOSIT);
        PaymentChannels.Voucher memory old = _voucher(channelId, 0, 300);
        bytes memory oldSignature = _sign(senderKey, old);
        vm.prank(provider);
        channels.redeem(old, oldSignature);
        _closeAndWithdraw(channelId);

        // Not reopened: nothing to pay from.
        _expectRedeemRevert(
            old, oldSignature, abi.encodeWithSelector(PaymentChannels.ChannelNotOpen.selector, channelId)
        );

        // Reopened: same id, next epoch; the old voucher (and its signature) cannot pay again.
        _open(DEPOSIT);
        _expectRedeemRevert(
            old, oldSignature, abi.encodeWithSelector(PaymentChannels.WrongEpoch.selector, uint64(1), uint64(0))
        );

        // Re-labelling the old voucher with the new epoch breaks its signature.
        PaymentChannels.Voucher memory relabelled = _voucher(channelId, 1, 300);
        _expectRedeemRevert(relabelled, oldSignature, PaymentChannels.InvalidVoucherSignature.selector);

        assertEq(_redeem(channelId, 1, 300), 300, "a new-epoch voucher pays");
    }

    function test_redeem_revertsWhenSignedByAnotherKey() public {
        bytes32 channelId = _open(DEPOSIT);
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, 100);
        bytes memory signature = _sign(providerKey, voucher);
        _expectRedeemRevert(voucher, signature, PaymentChannels.InvalidVoucherSignature.selector);
    }

    function test_redeem_revertsWhenSignatureIsGarbage() public {
        bytes32 channelId = _open(DEPOSIT);
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, 100);

        _expectRedeemRevert(voucher, "", PaymentChannels.InvalidVoucherSignature.selector);

        _expectRedeemRevert(voucher, hex"deadbeef", PaymentChannels.InvalidVoucherSignature.selector);

        bytes memory random = abi.encodePacked(keccak256("r"), keccak256("s"), uint8(27));
        _expectRedeemRevert(voucher, random, PaymentChannels.InvalidVoucherSignature.selector);
    }

    function test_redeem_revertsWhenSignatureRecoversToZero() public {
        bytes32 channelId = _open(DEPOSIT);
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, 100);
        // r = 0 is not a curve point: ecrecover returns address(0).
        bytes memory zeroSigner = abi.encodePacked(bytes32(0), bytes32(uint256(1)), uint8(27));
        assertEq(ecrecover(channels.hashVoucher(voucher), 27, bytes32(0), bytes32(uint256(1))), address(0));
        _expectRedeemRevert(voucher, zeroSigner, PaymentChannels.InvalidVoucherSignature.selector);
    }

    function test_redeem_revertsWhenSignatureIsMalleated() public {
        bytes32 channelId = _open(DEPOSIT);
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, 100);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(senderKey, channels.hashVoucher(voucher));
        bytes32 highS = bytes32(SECP256K1_ORDER - uint256(s));
        bytes memory malleated = abi.encodePacked(r, highS, v == 27 ? uint8(28) : uint8(27));
        _expectRedeemRevert(voucher, malleated, PaymentChannels.InvalidVoucherSignature.selector);
    }

    function test_redeem_revertsWhenSignedForAnotherChain() public {
        bytes32 channelId = _open(DEPOSIT);
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, 100);
        bytes memory otherChain = signDigest(senderKey, _digest(address(channels), block.chainid + 1, voucher));
        _expectRedeemRevert(voucher, otherChain, PaymentChannels.InvalidVoucherSignature.selector);
    }

    function test_redeem_revertsAfterChainIdChanges() public {
        bytes32 channelId = _open(DEPOSIT);
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, 100);
        bytes memory signature = _sign(senderKey, voucher);
        bytes32 separatorBefore = channels.domainSeparator();
        vm.chainId(block.chainid + 1);
        assertNotEq(channels.domainSeparator(), separatorBefore, "separator follows the chain id");
        _expectRedeemRevert(voucher, signature, PaymentChannels.InvalidVoucherSignature.selector);
    }

    function test_redeem_revertsWhenSignedForAnotherDeployment() public {
        PaymentChannels other = new PaymentChannels(usd, models, providers, fundingPool, FEE_BPS, CHALLENGE_PERIOD);
        bytes32 channelId = _open(DEPOSIT);
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, 100);
        bytes memory forOther = signDigest(senderKey, other.hashVoucher(voucher));
        _expectRedeemRevert(voucher, forOther, PaymentChannels.InvalidVoucherSignature.selector);
    }

    function test_redeem_revertsWhenVoucherIsForAnotherChannel() public {
        uint256 otherModel = _registerOfferedModel(creator, 0);
        bytes32 channelA = _open(DEPOSIT);
        bytes32 channelB = _open(sender, provider, otherModel, DEPOSIT);
        bytes memory signatureForA = _sign(senderKey, _voucher(channelA, 0, 100));
        _expectRedeemRevert(
            _voucher(channelB, 0, 100), signatureForA, PaymentChannels.InvalidVoucherSignature.selector
        );
    }

    function test_redeem_allowedDuringChallengePeriod() public {
        bytes32 channelId = _open(DEPOSIT);
        _redeem(channelId, 0, 100);
        uint64 closesAt = _startClose(channelId);
        vm.warp(closesAt - 1);
        assertEq(_redeem(channelId, 0, 900), 800, "newer voucher wins inside the challenge period");
    }

    function test_redeem_revertsAfterChallengePeriod() public {
        bytes32 channelId = _open(DEPOSIT);
        uint64 closesAt = _startClose(channelId);
        vm.warp(closesAt);
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, 100);
        bytes memory signature = _sign(senderKey, voucher);
        _expectRedeemRevert(
            voucher, signature, abi.encodeWithSelector(PaymentChannels.ChannelClosed.selector, channelId, closesAt)
        );
    }

    function test_redeem_royaltyAccruesToModelAcrossTransfer() public {
        address buyer = makeAddr("buyer");
        bytes32 channelId = _open(DEPOSIT);
        _redeem(channelId, 0, 1000);
        vm.prank(creator);
        models.transferFrom(creator, buyer, modelId);

        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, 3000);
        bytes memory signature = _sign(senderKey, voucher);
        vm.expectEmit(address(channels));
        emit PaymentChannels.VoucherRedeemed(channelId, provider, modelId, 3000, 2000, 2000 - 200 - 50, 200, 50);
        vm.prank(provider);
        channels.redeem(voucher, signature);

        assertEq(channels.modelEarnings(modelId), 100 + 200, "before and after the transfer, on the model");
        assertEq(channels.earnings(creator), 0);
        assertEq(channels.earnings(buyer), 0);
    }

    function test_redeem_neverCallsModelRegistry() public {
        bytes32 channelId = _open(DEPOSIT);
        // Whatever the registry does (here: revert on every call), redemption is unaffected.
        vm.etch(address(models), hex"60006000fd");
        assertEq(_redeem(channelId, 0, 1000), 1000);
        assertEq(channels.modelEarnings(modelId), 100);
        assertEq(channels.earnings(provider), 875);
    }

    function test_redeem_zeroRoyaltyModelCreditsNothingToModel() public {
        uint256 freeModel = _registerOfferedModel(creator, 0);
        bytes32 channelId = _open(sender, provider, freeModel, DEPOSIT);
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, 1000);
        bytes memory signature = _sign(senderKey, voucher);
        vm.expectEmit(address(channels));
        emit PaymentChannels.VoucherRedeemed(channelId, provider, freeModel, 1000, 1000, 975, 0, 25);
        vm.prank(provider);
        channels.redeem(voucher, signature);
        assertEq(channels.modelEarnings(freeModel), 0);
        assertEq(channels.earnings(creator), 0);
    }

    function test_redeem_smallAmountsRoundInProviderFavourAndSumExactly() public {
        bytes32 channelId = _open(DEPOSIT);
        _redeem(channelId, 0, 1);
        assertEq(channels.earnings(provider), 1, "1 unit: all to provider");
        _redeem(channelId, 0, 4);
        assertEq(channels.earnings(provider), 4, "3 units: all to provider");
        _redeem(channelId, 0, 44);
        // 40 units: royalty 4, fee 1 (1.0 exactly), provider 35.
        assertEq(channels.modelEarnings(modelId), 4);
        assertEq(channels.earnings(fundingPool), 1);
        assertEq(channels.earnings(provider), 4 + 35);
    }

    function test_redeem_splitsMaxUint256Exactly() public {
        uint256 richModel = _registerOfferedModel(creator, 5000);
        PaymentChannels pc = new PaymentChannels(usd, models, providers, fundingPool, 1000, CHALLENGE_PERIOD);
        channels = pc;
        uint256 max = type(uint256).max;
        bytes32 channelId = _open(sender, provider, richModel, max);
        assertEq(_redeem(channelId, 0, max), max);
        uint256 royalty = Math.mulDiv(max, 5000, 10_000);
        uint256 fee = Math.mulDiv(max, 1000, 10_000);
        assertEq(channels.modelEarnings(richModel), royalty);
        assertEq(channels.earnings(fundingPool), fee);
        assertEq(channels.earnings(provider), max - royalty - fee);
        assertEq(royalty, max / 2);
    }

    function test_redeem_acceptsErc1271Sender() public {
        (address owner, uint256 ownerKey) = makeAddrAndKey("agent owner");
        MockERC1271Wallet wallet = new MockERC1271Wallet(owner);
        usd.mint(address(wallet), DEPOSIT);
        vm.startPrank(owner);
        wallet.approve(usd, address(channels), DEPOSIT);
        bytes memory result =
            wallet.execute(address(channels), abi.encodeCall(PaymentChannels.open, (provider, modelId, 0, DEPOSIT)));
        vm.stopPrank();
        bytes32 channelId = abi.decode(result, (bytes32));
        assertEq(channels.getChannel(channelId).sender, address(wallet));

        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, 100);
        bytes memory signature = _sign(ownerKey, voucher);
        vm.prank(provider);
        assertEq(channels.redeem(voucher, signature), 100, "owner's key signs for the wallet");

        PaymentChannels.Voucher memory next = _voucher(channelId, 0, 200);
        bytes memory wrongSignature = _sign(senderKey, next);
        _expectRedeemRevert(next, wrongSignature, PaymentChannels.InvalidVoucherSignature.selector);
    }

    function test_redeem_acceptsKeySignatureFromSenderWithDelegatedCode() public {
        bytes32 channelId = _open(DEPOSIT);
        // An EIP-7702 delegation gives the sender's EOA code that does not implement ERC-1271.
        vm.etch(sender, abi.encodePacked(hex"ef0100", address(usd)));
        assertGt(sender.code.length, 0, "sender has code");
        assertEq(_redeem(channelId, 0, 100), 100);

        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, 200);
        bytes memory wrongKey = _sign(providerKey, voucher);
        _expectRedeemRevert(voucher, wrongKey, PaymentChannels.InvalidVoucherSignature.selector);
    }

    function test_redeem_stillPaysAfterOfferRemovedOrProviderUnstaked() public {
        bytes32 channelId = _open(DEPOSIT);
        vm.startPrank(provider);
        providers.removeOffer(modelId);
        providers.requestUnstake(MIN_STAKE);
        vm.stopPrank();
        assertEq(_redeem(channelId, 0, 100), 100);
    }

    function test_hashVoucher_matchesIndependentDigest() public {
        bytes32 channelId = _open(DEPOSIT);
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 3, 123_456);
        assertEq(channels.hashVoucher(voucher), _digest(address(channels), block.chainid, voucher));
    }

    // ---------------------------------------------------------------- redeemBatch

    function test_redeemBatch_paysManyChannels() public {
        uint256 otherModel = _registerOfferedModel(creator, 0);
        bytes32 a = _open(DEPOSIT);
        bytes32 b = _open(sender, provider, otherModel, DEPOSIT);
        (PaymentChannels.Voucher[] memory vouchers, bytes[] memory signatures) =
            _batch(_voucher(a, 0, 1000), _voucher(b, 0, 2000));
        vm.prank(provider);
        assertEq(channels.redeemBatch(vouchers, signatures), 3000);
        assertEq(channels.getChannel(a).redeemed, 1000);
        assertEq(channels.getChannel(b).redeemed, 2000);
        assertEq(channels.modelEarnings(modelId), 100, "royalty on the first model");
        assertEq(channels.modelEarnings(otherModel), 0, "none on the royalty-free one");
        assertEq(channels.earnings(fundingPool), 25 + 50);
        assertEq(channels.earnings(provider), 3000 - 100 - 75);
    }

    function test_redeemBatch_sameVoucherTwicePaysOnce() public {
        bytes32 channelId = _open(DEPOSIT);
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, 1000);
        (PaymentChannels.Voucher[] memory vouchers, bytes[] memory signatures) = _batch(voucher, voucher);
        vm.prank(provider);
        assertEq(channels.redeemBatch(vouchers, signatures), 1000);
        assertEq(channels.getChannel(channelId).redeemed, 1000);
        assertEq(_credited(), 1000);
    }

    function test_redeemBatch_skipsStaleVoucherAndPaysNewer() public {
        bytes32 channelId = _open(DEPOSIT);
        (PaymentChannels.Voucher[] memory vouchers, bytes[] memory signatures) =
            _batch(_voucher(channelId, 0, 1000), _voucher(channelId, 0, 400));
        vm.prank(provider);
        assertEq(channels.redeemBatch(vouchers, signatures), 1000);

        (vouchers, signatures) = _batch(_voucher(channelId, 0, 900), _voucher(channelId, 0, 1500));
        vm.prank(provider);
        assertEq(channels.redeemBatch(vouchers, signatures), 500);
        assertEq(channels.getChannel(channelId).redeemed, 1500);
    }

    function test_redeemBatch_skipsStaleVoucherWithoutCheckingItsSignature() public {
        bytes32 channelId = _open(DEPOSIT);
        _redeem(channelId, 0, 1000);
        PaymentChannels.Voucher[] memory vouchers = new PaymentChannels.Voucher[](1);
        bytes[] memory signatures = new bytes[](1);
        vouchers[0] = _voucher(channelId, 0, 999);
        signatures[0] = hex"00";
        vm.prank(provider);
        assertEq(channels.redeemBatch(vouchers, signatures), 0);
    }

    function test_redeemBatch_revertsOnLengthMismatch() public {
        PaymentChannels.Voucher[] memory vouchers = new PaymentChannels.Voucher[](2);
        bytes[] memory signatures = new bytes[](1);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.LengthMismatch.selector, 2, 1));
        vm.prank(provider);
        channels.redeemBatch(vouchers, signatures);
    }

    /// @dev A one-voucher batch.
    function _single(PaymentChannels.Voucher memory voucher, bytes memory signature)
        internal
        pure
        returns (PaymentChannels.Voucher[] memory vouchers, bytes[] memory signatures)
    {
        vouchers = new PaymentChannels.Voucher[](1);
        signatures = new bytes[](1);
        vouchers[0] = voucher;
        signatures[0] = signature;
    }

    /// @dev Expects `VoucherSkipped` for `voucher`, redeemed by `caller`, with `reason`.
    function _expectSkipped(PaymentChannels.Voucher memory voucher, address caller, bytes4 reason) internal {
        vm.expectEmit(address(channels));
        emit PaymentChannels.VoucherSkipped(voucher.channelId, caller, voucher.epoch, voucher.cumulativeAmount, reason);
    }

    /// @dev An ERC-1271 sender that can turn hostile, with a channel open to `provider` and the key
    ///      that signs for it.
    function _openHostileWallet(string memory name)
        internal
        returns (HostileERC1271Wallet wallet, uint256 walletKey, bytes32 channelId)
    {
        address owner;
        (owner, walletKey) = makeAddrAndKey(name);
        wallet = new HostileERC1271Wallet(owner);
        usd.mint(address(wallet), DEPOSIT);
        vm.startPrank(owner);
        wallet.approve(usd, address(channels), DEPOSIT);
        bytes memory result =
            wallet.execute(address(channels), abi.encodeCall(PaymentChannels.open, (provider, modelId, 0, DEPOSIT)));
        vm.stopPrank();
        channelId = abi.decode(result, (bytes32));
    }

    /// @dev A batch of a good voucher on a fresh channel, then `bad` with `badSignature`, then a good
    ///      voucher on another fresh channel; returns the two good channels.
    function _sandwich(PaymentChannels.Voucher memory bad, bytes memory badSignature)
        internal
        returns (PaymentChannels.Voucher[] memory vouchers, bytes[] memory signatures, bytes32 a, bytes32 b)
    {
        a = _open(sender, provider, _registerOfferedModel(creator, 0), DEPOSIT);
        b = _open(sender, provider, _registerOfferedModel(creator, 0), DEPOSIT);
        vouchers = new PaymentChannels.Voucher[](3);
        signatures = new bytes[](3);
        vouchers[0] = _voucher(a, 0, 1000);
        vouchers[1] = bad;
        vouchers[2] = _voucher(b, 0, 2000);
        signatures[0] = _sign(senderKey, vouchers[0]);
        signatures[1] = badSignature;
        signatures[2] = _sign(senderKey, vouchers[2]);
    }

    function test_redeemBatch_skipsInvalidSignatureAndPaysTheRest() public {
        bytes32 channelId = _open(DEPOSIT);
        (PaymentChannels.Voucher[] memory vouchers, bytes[] memory signatures) =
            _batch(_voucher(channelId, 0, 100), _voucher(channelId, 0, 200));
        signatures[1] = _sign(providerKey, vouchers[1]);
        _expectSkipped(vouchers[1], provider, PaymentChannels.InvalidVoucherSignature.selector);
        vm.prank(provider);
        assertEq(channels.redeemBatch(vouchers, signatures), 100);
        assertEq(channels.getChannel(channelId).redeemed, 100, "the good voucher paid, the forged one not");
        assertEq(_credited(), 100);
    }

    function test_redeemBatch_skipsClosedChannelAndPaysTheOthers() public {
        // The hostage attack: a channel closed after its challenge period, its voucher in the batch.
        bytes32 closed = _open(DEPOSIT);
        uint64 closesAt = _startClose(closed);
        vm.warp(closesAt + 10);
        PaymentChannels.Voucher memory bad = _voucher(closed, 0, 500);
        (PaymentChannels.Voucher[] memory vouchers, bytes[] memory signatures, bytes32 a, bytes32 b) =
            _sandwich(bad, _sign(senderKey, bad));
        _expectSkipped(bad, provider, PaymentChannels.ChannelClosed.selector);
        vm.prank(provider);
        assertEq(channels.redeemBatch(vouchers, signatures), 3000);
        assertEq(channels.getChannel(a).redeemed, 1000);
        assertEq(channels.getChannel(b).redeemed, 2000);
        assertEq(channels.getChannel(closed).redeemed, 0);
        assertEq(channels.earnings(provider) + channels.earnings(fundingPool), 3000, "royalty-free models");
    }

    function test_redeemBatch_skipsChannelOfAnotherProvider() public {
        bytes32 channelId = _open(DEPOSIT);
        (PaymentChannels.Voucher[] memory vouchers, bytes[] memory signatures) =
            _batch(_voucher(channelId, 0, 100), _voucher(channelId, 0, 200));
        _expectSkipped(vouchers[0], stranger, PaymentChannels.NotChannelProvider.selector);
        _expectSkipped(vouchers[1], stranger, PaymentChannels.NotChannelProvider.selector);
        vm.prank(stranger);
        assertEq(channels.redeemBatch(vouchers, signatures), 0);
        assertEq(channels.getChannel(channelId).redeemed, 0, "a stranger redeems nothing");
        assertEq(channels.earnings(stranger), 0);
    }

    function test_redeemBatch_skipsWrongEpoch() public {
        bytes32 channelId = _open(DEPOSIT);
        (PaymentChannels.Voucher[] memory vouchers, bytes[] memory signatures) =
            _batch(_voucher(channelId, 2, 200), _voucher(channelId, 0, 100));
        _expectSkipped(vouchers[0], provider, PaymentChannels.WrongEpoch.selector);
        vm.prank(provider);
        assertEq(channels.redeemBatch(vouchers, signatures), 100);
    }

    function test_redeemBatch_skipsChannelNotOpen() public {
        bytes32 withdrawn = _open(DEPOSIT);
        _redeem(withdrawn, 0, 100);
        _closeAndWithdraw(withdrawn);
        PaymentChannels.Voucher memory bad = _voucher(withdrawn, 0, 200);
        (PaymentChannels.Voucher[] memory vouchers, bytes[] memory signatures,,) = _sandwich(bad, _sign(senderKey, bad));
        _expectSkipped(bad, provider, PaymentChannels.ChannelNotOpen.selector);
        vm.prank(provider);
        assertEq(channels.redeemBatch(vouchers, signatures), 3000);
    }

    function test_redeemBatch_reportsStaleVoucherAsNotIncreasing() public {
        bytes32 channelId = _open(DEPOSIT);
        _redeem(channelId, 0, 1000);
        PaymentChannels.Voucher memory stale = _voucher(channelId, 0, 1000);
        (PaymentChannels.Voucher[] memory vouchers, bytes[] memory signatures) =
            _single(stale, _sign(senderKey, stale));
        _expectSkipped(stale, provider, PaymentChannels.VoucherNotIncreasing.selector);
        vm.prank(provider);
        assertEq(channels.redeemBatch(vouchers, signatures), 0);
    }

    function test_redeemBatch_skipsPausedErc1271SenderAndPaysItsLaterVoucher() public {
        (HostileERC1271Wallet wallet, uint256 walletKey, bytes32 channelId) = _openHostileWallet("agent");
        wallet.setMode(HostileERC1271Wallet.Mode.Refuse); // paused or revoked by its owner
        PaymentChannels.Voucher memory held = _voucher(channelId, 0, 300);
        (PaymentChannels.Voucher[] memory vouchers, bytes[] memory signatures, bytes32 a,) =
            _sandwich(held, _sign(walletKey, held));
        _expectSkipped(held, provider, PaymentChannels.InvalidVoucherSignature.selector);
        vm.prank(provider);
        assertEq(channels.redeemBatch(vouchers, signatures), 3000);
        assertEq(channels.getChannel(a).redeemed, 1000);

        // Unpaused: the voucher held back (and a later one) pays.
        wallet.setMode(HostileERC1271Wallet.Mode.Honest);
        PaymentChannels.Voucher memory later = _voucher(channelId, 0, 450);
        (vouchers, signatures) = _single(later, _sign(walletKey, later));
        vm.prank(provider);
        assertEq(channels.redeemBatch(vouchers, signatures), 450);
        assertEq(channels.getChannel(channelId).redeemed, 450);
    }

    function test_redeemBatch_skipsRevertingErc1271Sender() public {
        (HostileERC1271Wallet wallet, uint256 walletKey, bytes32 channelId) = _openHostileWallet("reverter");
        wallet.setMode(HostileERC1271Wallet.Mode.Revert);
        PaymentChannels.Voucher memory bad = _voucher(channelId, 0, 300);
        (PaymentChannels.Voucher[] memory vouchers, bytes[] memory signatures,,) = _sandwich(bad, _sign(walletKey, bad));
        _expectSkipped(bad, provider, PaymentChannels.InvalidVoucherSignature.selector);
        vm.prank(provider);
        assertEq(channels.redeemBatch(vouchers, signatures), 3000);
    }

    function test_redeemBatch_boundsGasAGasBurningErc1271SenderTakes() public {
        (HostileERC1271Wallet wallet, uint256 walletKey, bytes32 channelId) = _openHostileWallet("burner");
        wallet.setMode(HostileERC1271Wallet.Mode.BurnGas);
        PaymentChannels.Voucher memory bad = _voucher(channelId, 0, 300);
        (PaymentChannels.Voucher[] memory vouchers, bytes[] memory signatures,,) = _sandwich(bad, _sign(walletKey, bad));
        _expectSkipped(bad, provider, PaymentChannels.InvalidVoucherSignature.selector);
        vm.prank(provider);
        uint256 before = gasleft();
        assertEq(channels.redeemBatch{gas: 1_000_000}(vouchers, signatures), 3000);
        uint256 used = before - gasleft();
        // Two payments cost well under 150k; the burner takes at most its allowance on top.
        assertLt(used, 150_000 + channels.ERC1271_GAS_LIMIT(), "the burner is capped at ERC1271_GAS_LIMIT");
    }

    function test_redeemBatch_copiesNoReturnBombFromErc1271Sender() public {
        (HostileERC1271Wallet wallet, uint256 walletKey, bytes32 channelId) = _openHostileWallet("bomber");
        wallet.setMode(HostileERC1271Wallet.Mode.ReturnBomb);
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, 300);
        (PaymentChannels.Voucher[] memory vouchers, bytes[] memory signatures) =
            _single(voucher, _sign(walletKey, voucher));
        vm.prank(provider);
        uint256 before = gasleft();
        // The bomb opens with the magic value, so the voucher pays; its 100 kB are never copied back.
        assertEq(channels.redeemBatch(vouchers, signatures), 300);
        assertLt(before - gasleft(), 150_000, "the bomb costs the batch nothing it did not choose");
    }

    function test_redeemBatch_revertsWhenTooLittleGasForErc1271Check() public {
        (, uint256 walletKey, bytes32 channelId) = _openHostileWallet("honest");
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, 300);
        (PaymentChannels.Voucher[] memory vouchers, bytes[] memory signatures) =
            _single(voucher, _sign(walletKey, voucher));
        // With too little gas for a full check the batch reverts rather than skip a voucher that pays.
        vm.prank(provider);
        (bool ok, bytes memory result) = address(channels).call{gas: 80_000}(
            abi.encodeCall(PaymentChannels.redeemBatch, (vouchers, signatures))
        );
        assertFalse(ok, "reverted");
        assertEq(bytes4(result), PaymentChannels.InsufficientGasForSignatureCheck.selector);
        assertEq(channels.getChannel(channelId).redeemed, 0);
        vm.prank(provider);
        assertEq(channels.redeemBatch(vouchers, signatures), 300, "with enough gas it pays");
    }

    function test_redeem_staysStrictForErc1271SenderThatRefuses() public {
        (HostileERC1271Wallet wallet, uint256 walletKey, bytes32 channelId) = _openHostileWallet("strict");
        wallet.setMode(HostileERC1271Wallet.Mode.BurnGas);
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, 300);
        _expectRedeemRevert(voucher, _sign(walletKey, voucher), PaymentChannels.InvalidVoucherSignature.selector);
    }

    function test_redeemBatch_emptyPaysNothing() public {
        vm.prank(provider);
        assertEq(channels.redeemBatch(new PaymentChannels.Voucher[](0), new bytes[](0)), 0);
    }

    // ---------------------------------------------------------------- startClose

    function test_startClose_setsClosesAtAndEmits() public {
        bytes32 channelId = _open(DEPOSIT);
        uint64 closesAt = uint64(block.timestamp) + CHALLENGE_PERIOD;
        vm.expectEmit(address(channels));
        emit PaymentChannels.ChannelCloseStarted(channelId, sender, closesAt);
        vm.prank(sender);
        channels.startClose(channelId);
        assertEq(uint256(channels.getChannel(channelId).closesAt), uint256(closesAt));
    }

    function test_startClose_revertsWhenNotSender() public {
        bytes32 channelId = _open(DEPOSIT);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NotChannelSender.selector, channelId, stranger));
        vm.prank(stranger);
        channels.startClose(channelId);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NotChannelSender.selector, channelId, provider));
        vm.prank(provider);
        channels.startClose(channelId);
    }

    function test_startClose_twiceCannotResetTheClock() public {
        bytes32 channelId = _open(DEPOSIT);
        uint64 closesAt = _startClose(channelId);
        vm.warp(block.timestamp + 10 minutes);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ChannelAlreadyClosing.selector, channelId, closesAt));
        vm.prank(sender);
        channels.startClose(channelId);
        assertEq(uint256(channels.getChannel(channelId).closesAt), uint256(closesAt));
    }

    function test_startClose_revertsWhenChannelNotOpen() public {
        bytes32 channelId = channels.channelIdOf(sender, provider, modelId, 0);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ChannelNotOpen.selector, channelId));
        vm.prank(sender);
        channels.startClose(channelId);
    }

    // ---------------------------------------------------------------- withdraw

    function test_withdraw_refundsRestAndAdvancesEpoch() public {
        bytes32 channelId = _open(DEPOSIT);
        _redeem(channelId, 0, 1234);
        uint64 closesAt = _startClose(channelId);
        vm.warp(closesAt);
        vm.expectEmit(address(channels));
        emit PaymentChannels.ChannelWithdrawn(channelId, sender, DEPOSIT - 1234, 1);
        vm.prank(sender);
        assertEq(channels.withdraw(channelId), DEPOSIT - 1234);

        assertEq(usd.balanceOf(sender), DEPOSIT - 1234);
        assertEq(usd.balanceOf(address(channels)), 1234, "earnings stay until withdrawn");
        PaymentChannels.Channel memory c = channels.getChannel(channelId);
        assertEq(c.deposit, 0);
        assertEq(c.redeemed, 0);
        assertEq(uint256(c.closesAt), 0);
        assertEq(uint256(c.epoch), 1);
        assertEq(c.sender, sender, "parties kept for the record");
    }

    function test_withdraw_revertsDuringChallengePeriod() public {
        bytes32 channelId = _open(DEPOSIT);
        uint64 closesAt = _startClose(channelId);
        vm.warp(closesAt - 1);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ChallengePeriodActive.selector, closesAt, closesAt - 1));
        vm.prank(sender);
        channels.withdraw(channelId);
    }

    function test_withdraw_revertsWhenNotClosing() public {
        bytes32 channelId = _open(DEPOSIT);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ChannelNotClosing.selector, channelId));
        vm.prank(sender);
        channels.withdraw(channelId);
    }

    function test_withdraw_revertsWhenNotSender() public {
        bytes32 channelId = _open(DEPOSIT);
        uint64 closesAt = _startClose(channelId);
        vm.warp(closesAt);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NotChannelSender.selector, channelId, stranger));
        vm.prank(stranger);
        channels.withdraw(channelId);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NotChannelSender.selector, channelId, provider));
        vm.prank(provider);
        channels.withdraw(channelId);
    }

    function test_withdraw_revertsWhenAlreadyWithdrawn() public {
        bytes32 channelId = _open(DEPOSIT);
        _closeAndWithdraw(channelId);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ChannelNotOpen.selector, channelId));
        vm.prank(sender);
        channels.withdraw(channelId);
    }

    function test_withdraw_refundsZeroWhenFullyRedeemed() public {
        bytes32 channelId = _open(DEPOSIT);
        _redeem(channelId, 0, DEPOSIT);
        assertEq(_closeAndWithdraw(channelId), 0);
        assertEq(usd.balanceOf(sender), 0);
        assertEq(uint256(channels.getChannel(channelId).epoch), 1);
    }

    function test_withdraw_providerRedeemsLatestVoucherBeforeStaleClose() public {
        bytes32 channelId = _open(DEPOSIT);
        _redeem(channelId, 0, 100);
        // The sender has since signed a voucher for 5000 but tries to close with only 100 redeemed.
        uint64 closesAt = _startClose(channelId);
        vm.warp(closesAt - 1);
        _redeem(channelId, 0, 5000);
        vm.warp(closesAt);
        vm.prank(sender);
        assertEq(channels.withdraw(channelId), DEPOSIT - 5000);
    }

    // ---------------------------------------------------------------- withdrawEarnings

    function test_withdrawEarnings_paysEveryRecipient() public {
        bytes32 channelId = _open(DEPOSIT);
        _redeem(channelId, 0, 1_000_000);

        vm.expectEmit(address(channels));
        emit PaymentChannels.EarningsWithdrawn(provider, provider, 875_000);
        vm.prank(provider);
        assertEq(channels.withdrawEarnings(provider), 875_000);

        _withdrawModelEarnings(modelId, creator, creator);
        vm.prank(fundingPool);
        channels.withdrawEarnings(fundingPool);

        assertEq(usd.balanceOf(provider), 875_000);
        assertEq(usd.balanceOf(creator), 100_000);
        assertEq(usd.balanceOf(fundingPool), 25_000);
        assertEq(channels.earnings(provider), 0);
        assertEq(usd.balanceOf(address(channels)), DEPOSIT - 1_000_000);
    }

    function test_withdrawEarnings_sendsToAnotherAddress() public {
        bytes32 channelId = _open(DEPOSIT);
        _redeem(channelId, 0, 1000);
        address cold = makeAddr("cold wallet");
        vm.expectEmit(address(channels));
        emit PaymentChannels.EarningsWithdrawn(provider, cold, 875);
        vm.prank(provider);
        channels.withdrawEarnings(cold);
        assertEq(usd.balanceOf(cold), 875);
    }

    function test_withdrawEarnings_revertsWhenNothingEarned() public {
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NothingToWithdraw.selector, stranger));
        vm.prank(stranger);
        channels.withdrawEarnings(stranger);
    }

    function test_withdrawEarnings_revertsWhenRecipientZero() public {
        bytes32 channelId = _open(DEPOSIT);
        _redeem(channelId, 0, 1000);
        vm.expectRevert(PaymentChannels.ZeroRecipient.selector);
        vm.prank(provider);
        channels.withdrawEarnings(address(0));
    }

    function test_withdrawEarnings_doesNotPayRoyalties() public {
        bytes32 channelId = _open(DEPOSIT);
        _redeem(channelId, 0, 1000);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NothingToWithdraw.selector, creator));
        vm.prank(creator);
        channels.withdrawEarnings(creator);
        assertEq(channels.modelEarnings(modelId), 100, "royalty stays on the model");
    }

    // ---------------------------------------------------------------- withdrawModelEarnings

    function test_withdrawModelEarnings_paysOwnerAndEmits() public {
        bytes32 channelId = _open(DEPOSIT);
        _redeem(channelId, 0, 1_000_000);

        vm.expectEmit(address(channels));
        emit PaymentChannels.ModelEarningsWithdrawn(modelId, creator, creator, 100_000);
        assertEq(_withdrawModelEarnings(modelId, creator, creator), 100_000);

        assertEq(usd.balanceOf(creator), 100_000);
        assertEq(channels.modelEarnings(modelId), 0);
        assertEq(usd.balanceOf(address(channels)), DEPOSIT - 100_000, "only the royalty left");
        assertEq(channels.earnings(provider), 875_000, "other earnings untouched");
    }

    function test_withdrawModelEarnings_sendsToAnotherAddress() public {
        bytes32 channelId = _open(DEPOSIT);
        _redeem(channelId, 0, 1000);
        address cold = makeAddr("cold wallet");
        vm.expectEmit(address(channels));
        emit PaymentChannels.ModelEarningsWithdrawn(modelId, creator, cold, 100);
        _withdrawModelEarnings(modelId, creator, cold);
        assertEq(usd.balanceOf(cold), 100);
        assertEq(usd.balanceOf(creator), 0);
    }

    function test_withdrawModelEarnings_currentOwnerWithdrawsAfterTransfer() public {
        address buyer = makeAddr("buyer");
        bytes32 channelId = _open(DEPOSIT);
        _redeem(channelId, 0, 1000); // 100 accrued under the creator
        vm.prank(creator);
        models.transferFrom(creator, buyer, modelId);
        _redeem(channelId, 0, 3000); // 200 accrued under the buyer

        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NotModelOwner.selector, modelId, creator));
        vm.prank(creator);
        channels.withdrawModelEarnings(modelId, creator);

        vm.expectEmit(address(channels));
        emit PaymentChannels.ModelEarningsWithdrawn(modelId, buyer, buyer, 300);
        assertEq(_withdrawModelEarnings(modelId, buyer, buyer), 300, "the buyer acquired the unwithdrawn royalties");
        assertEq(usd.balanceOf(buyer), 300);
        assertEq(usd.balanceOf(creator), 0);
    }

    function test_withdrawModelEarnings_sellerWithdrawsBeforeTransfer() public {
        address buyer = makeAddr("buyer");
        bytes32 channelId = _open(DEPOSIT);
        _redeem(channelId, 0, 1000);
        assertEq(_withdrawModelEarnings(modelId, creator, creator), 100);
        vm.prank(creator);
        models.transferFrom(creator, buyer, modelId);
        _redeem(channelId, 0, 3000);

        assertEq(_withdrawModelEarnings(modelId, buyer, buyer), 200, "only what accrued since");
        assertEq(usd.balanceOf(creator), 100);
        assertEq(usd.balanceOf(buyer), 200);
    }

    function test_withdrawModelEarnings_revertsWhenCallerNotOwner() public {
        bytes32 channelId = _open(DEPOSIT);
        _redeem(channelId, 0, 1000);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NotModelOwner.selector, modelId, stranger));
        vm.prank(stranger);
        channels.withdrawModelEarnings(modelId, stranger);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NotModelOwner.selector, modelId, provider));
        vm.prank(provider);
        channels.withdrawModelEarnings(modelId, provider);
        assertEq(channels.modelEarnings(modelId), 100, "unchanged");
    }

    function test_withdrawModelEarnings_revertsWhenCallerIsApprovedButNotOwner() public {
        bytes32 channelId = _open(DEPOSIT);
        _redeem(channelId, 0, 1000);
        address operator = makeAddr("operator");
        vm.startPrank(creator);
        models.approve(operator, modelId);
        models.setApprovalForAll(operator, true);
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NotModelOwner.selector, modelId, operator));
        vm.prank(operator);
        channels.withdrawModelEarnings(modelId, operator);
    }

    function test_withdrawModelEarnings_revertsWhenModelDoesNotExist() public {
        uint256 missing = models.modelCount() + 1;
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NotModelOwner.selector, missing, creator));
        vm.prank(creator);
        channels.withdrawModelEarnings(missing, creator);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NotModelOwner.selector, 0, creator));
        vm.prank(creator);
        channels.withdrawModelEarnings(0, creator);
    }

    function test_withdrawModelEarnings_revertsWhenNothingAccrued() public {
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NoModelEarnings.selector, modelId));
        vm.prank(creator);
        channels.withdrawModelEarnings(modelId, creator);
    }

    function test_withdrawModelEarnings_revertsWhenAlreadyWithdrawn() public {
        bytes32 channelId = _open(DEPOSIT);
        _redeem(channelId, 0, 1000);
        _withdrawModelEarnings(modelId, creator, creator);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NoModelEarnings.selector, modelId));
        vm.prank(creator);
        channels.withdrawModelEarnings(modelId, creator);
    }

    function test_withdrawModelEarnings_revertsWhenRecipientZero() public {
        bytes32 channelId = _open(DEPOSIT);
        _redeem(channelId, 0, 1000);
        vm.expectRevert(PaymentChannels.ZeroRecipient.selector);
        vm.prank(creator);
        channels.withdrawModelEarnings(modelId, address(0));
    }

    function test_withdrawModelEarnings_paysEachModelSeparately() public {
        uint256 otherModel = _registerOfferedModel(stranger, 2000);
        _redeem(_open(DEPOSIT), 0, 1000);
        _redeem(_open(sender, provider, otherModel, DEPOSIT), 0, 1000);
        assertEq(channels.modelEarnings(modelId), 100);
        assertEq(channels.modelEarnings(otherModel), 200);

        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NotModelOwner.selector, otherModel, creator));
        vm.prank(creator);
        channels.withdrawModelEarnings(otherModel, creator);
        assertEq(_withdrawModelEarnings(otherModel, stranger, stranger), 200);
        assertEq(channels.modelEarnings(modelId), 100, "the other model's royalties untouched");
    }

    // ---------------------------------------------------------------- reentrancy

    function _deployHookStack() internal returns (HookToken hookToken) {
        hookToken = new HookToken();
        channels =
            new PaymentChannels(IERC20(address(hookToken)), models, providers, fundingPool, FEE_BPS, CHALLENGE_PERIOD);
    }

    function test_withdraw_cannotBeReenteredByTokenHook() public {
        HookToken hookToken = _deployHookStack();
        ReentrantSender attacker = new ReentrantSender(channels, hookToken);
        hookToken.mint(address(attacker), DEPOSIT);
        bytes32 channelId = attacker.open(provider, modelId, DEPOSIT);
        attacker.startClose(channelId);
        vm.warp(block.timestamp + CHALLENGE_PERIOD);

        attacker.arm(abi.encodeCall(PaymentChannels.withdraw, (channelId)));
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        attacker.withdraw(channelId);

        PaymentChannels.Channel memory c = channels.getChannel(channelId);
        assertEq(c.deposit, DEPOSIT, "state unchanged");
        assertEq(uint256(c.epoch), 0, "epoch unchanged");
        assertEq(hookToken.balanceOf(address(channels)), DEPOSIT, "tokens unchanged");

        attacker.arm("");
        attacker.withdraw(channelId);
        assertEq(hookToken.balanceOf(address(attacker)), DEPOSIT, "honest withdraw still works");
    }

    function test_open_cannotBeReenteredByTokenHook() public {
        HookToken hookToken = _deployHookStack();
        ReentrantSender attacker = new ReentrantSender(channels, hookToken);
        hookToken.mint(address(attacker), 2 * DEPOSIT);
        attacker.arm(abi.encodeCall(PaymentChannels.open, (provider, modelId, 0, DEPOSIT)));
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        attacker.open(provider, modelId, DEPOSIT);
        assertEq(hookToken.balanceOf(address(channels)), 0);
    }

    function test_redeem_cannotBeReenteredFromEarningsWithdrawal() public {
        HookToken hookToken = _deployHookStack();
        ReentrantProvider attacker = new ReentrantProvider(channels, hookToken);
        stakeToken.mint(address(attacker), MIN_STAKE);
        attacker.register(providers, stakeToken, modelId, MIN_STAKE);

        hookToken.mint(sender, DEPOSIT);
        vm.startPrank(sender);
        hookToken.approve(address(channels), DEPOSIT);
        bytes32 channelId = channels.open(address(attacker), modelId, 0, DEPOSIT);
        vm.stopPrank();

        PaymentChannels.Voucher memory first = _voucher(channelId, 0, 1000);
        attacker.redeem(first, _sign(senderKey, first));
        uint256 earned = channels.earnings(address(attacker));

        // While its earnings arrive, the provider tries to redeem a newer voucher.
        PaymentChannels.Voucher memory second = _voucher(channelId, 0, 2000);
        attacker.arm(abi.encodeCall(PaymentChannels.redeem, (second, _sign(senderKey, second))));
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        attacker.withdrawEarnings();

        assertEq(channels.earnings(address(attacker)), earned, "earnings unchanged");
        assertEq(channels.getChannel(channelId).redeemed, 1000, "redeemed unchanged");
    }

    function test_withdrawModelEarnings_cannotBeReenteredByTokenHook() public {
        HookToken hookToken = _deployHookStack();
        ReentrantModelOwner attacker = new ReentrantModelOwner(channels, hookToken);
        uint256 model = attacker.registerModel(models);
        vm.prank(provider);
        providers.setOffer(model, 1, 1, 1);
        hookToken.mint(sender, DEPOSIT);
        vm.startPrank(sender);
        hookToken.approve(address(channels), DEPOSIT);
        bytes32 channelId = channels.open(provider, model, 0, DEPOSIT);
        vm.stopPrank();
        _redeem(channelId, 0, 1000);
        uint256 accrued = channels.modelEarnings(model);
        assertEq(accrued, 100);

        // While the royalties arrive, the owner tries to withdraw them again.
        attacker.arm(abi.encodeCall(PaymentChannels.withdrawModelEarnings, (model, address(attacker))));
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        attacker.withdrawModelEarnings(model);
        assertEq(channels.modelEarnings(model), accrued, "royalties unchanged");
        assertEq(hookToken.balanceOf(address(attacker)), 0);

        attacker.arm("");
        attacker.withdrawModelEarnings(model);
        assertEq(hookToken.balanceOf(address(attacker)), accrued, "honest withdrawal still works");
    }

    // ---------------------------------------------------------------- fuzz

    function testFuzz_redeem_splitsExactly(uint256 amount, uint16 royaltyBps, uint16 feeBps) public {
        amount = bound(amount, 1, type(uint256).max);
        royaltyBps = uint16(bound(royaltyBps, 0, 5000));
        feeBps = uint16(bound(feeBps, 0, 1000));
        uint256 model = _registerOfferedModel(creator, royaltyBps);
        channels = new PaymentChannels(usd, models, providers, fundingPool, feeBps, CHALLENGE_PERIOD);

        bytes32 channelId = _open(sender, provider, model, amount);
        assertEq(_redeem(channelId, 0, amount), amount);

        uint256 royalty = channels.modelEarnings(model);
        uint256 fee = channels.earnings(fundingPool);
        uint256 providerShare = channels.earnings(provider);
        assertEq(royalty, Math.mulDiv(amount, royaltyBps, 10_000), "royalty");
        assertEq(fee, Math.mulDiv(amount, feeBps, 10_000), "fee");
        assertEq(providerShare, amount - royalty - fee, "provider gets the rest");
        assertLe(royalty, amount - fee, "no overflow in the sum");
    }

    function testFuzz_withdrawModelEarnings_paysCurrentOwnerEverythingAccrued(
        uint256[4] memory increments,
        uint256 transfers,
        uint256 withdrawAt
    ) public {
        address[3] memory owners = [creator, makeAddr("buyer"), makeAddr("collector")];
        withdrawAt = bound(withdrawAt, 0, 4); // 4: never withdraw midway
        bytes32 channelId = _open(4e30);
        uint256 cumulative;
        uint256 accrued;
        uint256 paidOut;
        uint256 ownerIndex;
        for (uint256 i; i < 4; ++i) {
            uint256 increment = bound(increments[i], 1, 1e30);
            cumulative += increment;
            _redeem(channelId, 0, cumulative);
            accrued += Math.mulDiv(increment, ROYALTY_BPS, 10_000);
            assertEq(channels.modelEarnings(modelId), accrued - paidOut, "accrued on the model");
            if (i == withdrawAt && accrued > paidOut) {
                paidOut += _withdrawModelEarnings(modelId, owners[ownerIndex], owners[ownerIndex]);
            }
            // Bit i of `transfers`: the token changes hands after this redemption.
            if ((transfers >> i) & 1 == 1) {
                uint256 next = (ownerIndex + 1) % owners.length;
                vm.prank(owners[ownerIndex]);
                models.transferFrom(owners[ownerIndex], owners[next], modelId);
                ownerIndex = next;
            }
        }
        address current = owners[ownerIndex];
        for (uint256 i; i < owners.length; ++i) {
            if (owners[i] == current) continue;
            vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NotModelOwner.selector, modelId, owners[i]));
            vm.prank(owners[i]);
            channels.withdrawModelEarnings(modelId, owners[i]);
        }
        uint256 rest = accrued - paidOut;
        if (rest == 0) {
            vm.expectRevert(abi.encodeWithSelector(PaymentChannels.NoModelEarnings.selector, modelId));
            vm.prank(current);
            channels.withdrawModelEarnings(modelId, current);
        } else {
            assertEq(_withdrawModelEarnings(modelId, current, current), rest, "the current owner gets the rest");
        }
        uint256 received;
        for (uint256 i; i < owners.length; ++i) {
            received += usd.balanceOf(owners[i]);
        }
        assertEq(received, accrued, "every royalty paid out exactly once");
        assertEq(channels.modelEarnings(modelId), 0);
    }

    function testFuzz_redeem_paysEachIncrementOnce(uint256 deposit, uint256 first, uint256 second) public {
        deposit = bound(deposit, 1, 1e30);
        first = bound(first, 1, 2e30);
        second = bound(second, 0, 2e30);
        bytes32 channelId = _open(deposit);
        uint256 paidFirst = _redeem(channelId, 0, first);
        assertEq(paidFirst, Math.min(first, deposit));

        uint256 payableSecond = Math.min(second, deposit);
        if (payableSecond <= paidFirst) {
            PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, second);
            bytes memory signature = _sign(senderKey, voucher);
            _expectRedeemRevert(
                voucher,
                signature,
                abi.encodeWithSelector(PaymentChannels.VoucherNotIncreasing.selector, paidFirst, second)
            );
        } else {
            assertEq(_redeem(channelId, 0, second), payableSecond - paidFirst);
        }
        uint256 redeemed = channels.getChannel(channelId).redeemed;
        assertEq(redeemed, Math.max(paidFirst, payableSecond));
        assertEq(_credited(), redeemed, "earnings == redeemed");
    }

    function testFuzz_redeemBatch_poisonedVouchersNeverBlockTheRest(uint256 seed, uint8 count, uint256 amount)
        public
    {
        count = uint8(bound(count, 1, 8));
        amount = bound(amount, 1, DEPOSIT);
        // A channel of another provider, a closed one, a withdrawn one, and forged signatures.
        (address other,) = makeAddrAndKey("other provider");
        _registerProvider(other, modelId);
        bytes32 foreign = _open(sender, other, modelId, DEPOSIT);
        bytes32 closed = _open(sender, provider, _registerOfferedModel(creator, 0), DEPOSIT);
        uint64 closesAt = _startClose(closed);
        bytes32 withdrawn = _open(sender, provider, _registerOfferedModel(creator, 0), DEPOSIT);
        _closeAndWithdraw(withdrawn);
        vm.warp(closesAt + 1);

        PaymentChannels.Voucher[] memory vouchers = new PaymentChannels.Voucher[](count);
        bytes[] memory signatures = new bytes[](count);
        uint256 expected;
        bytes32[] memory good = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            uint256 kind = uint256(keccak256(abi.encode(seed, i))) % 6;
            if (kind == 0) vouchers[i] = _voucher(foreign, 0, amount);
            else if (kind == 1) vouchers[i] = _voucher(closed, 0, amount);
            else if (kind == 2) vouchers[i] = _voucher(withdrawn, 0, amount);
            else if (kind == 3) vouchers[i] = _voucher(withdrawn, 1, amount); // next epoch, never opened
            else {
                good[i] = _open(sender, provider, _registerOfferedModel(creator, 0), DEPOSIT);
                vouchers[i] = _voucher(good[i], 0, amount);
            }
            signatures[i] = kind == 4 ? _sign(providerKey, vouchers[i]) : _sign(senderKey, vouchers[i]);
            if (kind == 5) expected += amount;
        }
        vm.prank(provider);
        assertEq(channels.redeemBatch(vouchers, signatures), expected, "every good voucher paid, exactly");
        for (uint256 i; i < count; ++i) {
            if (good[i] == bytes32(0)) continue;
            uint256 kind = uint256(keccak256(abi.encode(seed, i))) % 6;
            assertEq(channels.getChannel(good[i]).redeemed, kind == 5 ? amount : 0);
        }
        assertEq(channels.getChannel(foreign).redeemed, 0);
        assertEq(channels.getChannel(closed).redeemed, 0);
        assertEq(channels.earnings(provider) + channels.earnings(fundingPool), expected, "royalty-free models");
    }

    function testFuzz_withdraw_returnsDepositMinusRedeemed(
        uint256 deposit,
        uint256 topUp,
        uint256 voucherAmount,
        uint256 redeemDelay
    ) public {
        deposit = bound(deposit, 1, 1e30);
        topUp = bound(topUp, 0, 1e30);
        voucherAmount = bound(voucherAmount, 0, 3e30);
        redeemDelay = bound(redeemDelay, 0, 2 * CHALLENGE_PERIOD);
        bytes32 channelId = _open(deposit);
        if (topUp > 0) {
            usd.mint(sender, topUp);
            vm.startPrank(sender);
            usd.approve(address(channels), topUp);
            channels.topUp(channelId, topUp);
            vm.stopPrank();
        }
        uint64 closesAt = _startClose(channelId);
        vm.warp(block.timestamp + redeemDelay);

        uint256 total = deposit + topUp;
        uint256 redeemed;
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, voucherAmount);
        bytes memory signature = _sign(senderKey, voucher);
        vm.prank(provider);
        if (block.timestamp >= closesAt) {
            vm.expectRevert(abi.encodeWithSelector(PaymentChannels.ChannelClosed.selector, channelId, closesAt));
            channels.redeem(voucher, signature);
        } else if (voucherAmount == 0) {
            vm.expectRevert(abi.encodeWithSelector(PaymentChannels.VoucherNotIncreasing.selector, 0, 0));
            channels.redeem(voucher, signature);
        } else {
            redeemed = channels.redeem(voucher, signature);
            assertEq(redeemed, Math.min(voucherAmount, total));
        }

        vm.warp(Math.max(block.timestamp, closesAt));
        vm.prank(sender);
        uint256 refund = channels.withdraw(channelId);
        assertEq(refund, total - redeemed, "refund == deposit - redeemed");
        assertEq(usd.balanceOf(sender), refund);
        assertEq(usd.balanceOf(address(channels)), redeemed, "only earnings remain");
        assertEq(uint256(channels.getChannel(channelId).epoch), 1);
    }

    function testFuzz_sequence_openRedeemCloseWithdrawReopen(uint256[4] memory amounts, uint256 rounds) public {
        rounds = bound(rounds, 1, 3);
        bytes32 channelId;
        uint256 totalRefund;
        uint256 totalDeposit;
        for (uint64 epoch; epoch < rounds; ++epoch) {
            uint256 deposit = bound(amounts[epoch], 1, 1e24);
            totalDeposit += deposit;
            channelId = _open(deposit);
            uint256 voucherAmount = bound(uint256(keccak256(abi.encode(amounts[3], epoch))), 1, 2e24);
            _redeem(channelId, epoch, voucherAmount);
            // A voucher from the previous epoch can never pay again.
            if (epoch > 0) {
                PaymentChannels.Voucher memory old = _voucher(channelId, epoch - 1, voucherAmount);
                bytes memory signature = _sign(senderKey, old);
                _expectRedeemRevert(
                    old, signature, abi.encodeWithSelector(PaymentChannels.WrongEpoch.selector, epoch, epoch - 1)
                );
            }
            totalRefund += _closeAndWithdraw(channelId);
        }
        uint256 earned = _credited();
        assertEq(totalRefund + earned, totalDeposit, "every unit is refunded or earned");
        assertEq(usd.balanceOf(address(channels)), earned);
        assertEq(uint256(channels.getChannel(channelId).epoch), rounds);
    }
}

/// @dev An account whose token hook re-enters the channels contract with a prepared call (none
///      when unarmed) as tokens reach it, bubbling up the revert.
abstract contract ChannelsReentrant is ITokenHooks {
    PaymentChannels internal immutable channels;
    bytes internal reentry;

    constructor(PaymentChannels channels_, HookToken token_) {
        channels = channels_;
        token_.setHook(this);
    }

    function arm(bytes calldata call) external {
        reentry = call;
    }

    function tokensToSend(address, address, uint256) external virtual {}

    function tokensReceived(address, address, uint256) external {
        _reenter();
    }

    function _reenter() internal {
        if (reentry.length == 0) return;
        (bool ok, bytes memory result) = address(channels).call(reentry);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
    }
}

/// @dev A channel sender that re-enters as its tokens leave as well as when they arrive.
contract ReentrantSender is ChannelsReentrant {
    constructor(PaymentChannels channels_, HookToken token_) ChannelsReentrant(channels_, token_) {
        token_.approve(address(channels_), type(uint256).max);
    }

    function open(address provider, uint256 modelId, uint256 amount) external returns (bytes32) {
        return channels.open(provider, modelId, 0, amount);
    }

    function startClose(bytes32 channelId) external {
        channels.startClose(channelId);
    }

    function withdraw(bytes32 channelId) external {
        channels.withdraw(channelId);
    }

    function tokensToSend(address, address, uint256) external override {
        _reenter();
    }
}

/// @dev A provider that re-enters `redeem` while its earnings arrive.
contract ReentrantProvider is ChannelsReentrant {
    constructor(PaymentChannels channels_, HookToken token_) ChannelsReentrant(channels_, token_) {}

    function register(ProviderRegistry registry, TestToken stake, uint256 modelId, uint256 amount) external {
        stake.approve(address(registry), amount);
        registry.register("https://reentrant", keccak256("k"), amount);
        registry.setOffer(modelId, 1, 1, 1);
    }

    function redeem(PaymentChannels.Voucher calldata voucher, bytes calldata signature) external {
        channels.redeem(voucher, signature);
    }

    function withdrawEarnings() external {
        channels.withdrawEarnings(address(this));
    }
}

/// @dev A model owner that re-enters the channels contract while its royalties arrive.
contract ReentrantModelOwner is ChannelsReentrant {
    constructor(PaymentChannels channels_, HookToken token_) ChannelsReentrant(channels_, token_) {}

    function registerModel(ModelRegistry registry) external returns (uint256) {
        return registry.register("reentrant", keccak256("reentrant weights"), bytes32(0), "", 1000);
    }

    function withdrawModelEarnings(uint256 modelId) external {
        channels.withdrawModelEarnings(modelId, address(this));
    }
}
