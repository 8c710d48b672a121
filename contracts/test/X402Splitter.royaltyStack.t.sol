// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.26;

import {LineageFixture} from "./utils/LineageFixture.sol";
import {Eip3009Signing} from "./utils/Eip3009Signing.sol";
import {X402Splitter, IPaymentTerms} from "../src/X402Splitter.sol";

/// @notice X402Splitter pays the royalty of a model with a royalty stack through PaymentChannels,
///         where it flows up the lineage exactly as a redeem's royalty does.
contract X402SplitterRoyaltyStackTest is LineageFixture, Eip3009Signing {
    X402Splitter internal splitter;
    uint256 internal fineTune;
    uint256 internal datasetId;
    address internal tuner;

    event PaymentSplit(
        address indexed provider,
        uint256 indexed modelId,
        address indexed royaltyTo,
        uint256 amount,
        uint256 providerShare,
        uint256 royalty,
        uint256 fee
    );

    function setUp() public override {
        super.setUp();
        splitter = new X402Splitter(IPaymentTerms(address(channels)));
        tuner = makeAddr("tuner");
        datasetId = _registerDataset(makeAddr("dataOwner"));
        fineTune = _registerDerivative(tuner, 1000, _parents(modelId, FINE_TUNE, 3000), _data(datasetId, 1500));
        usd.mint(sender, 1_000_000e6);
    }

    function _settle(uint256 model, uint256 value, bytes32 nonce) internal {
        Authorization memory a = Authorization(sender, splitter.payeeOf(provider, model), value, 0, block.timestamp + 60, nonce);
        Signature memory s = _signAuthorization(senderKey, address(usd), usd.name(), TRANSFER_TYPEHASH, a);
        splitter.settle(
            provider, model, X402Splitter.Authorization(a.from, a.value, a.validAfter, a.validBefore, a.nonce, s.v, s.r, s.s)
        );
    }

    function test_settle_creditsAStackedModelsRoyaltyToPaymentChannels() public {
        vm.expectEmit(address(splitter));
        emit PaymentSplit(provider, fineTune, address(channels), 10_000_001, 8_750_001, 1_000_000, 250_000);
        _settle(fineTune, 10_000_001, "n");
        assertEq(usd.balanceOf(tuner), 0, "nothing straight to the owner");
        assertEq(usd.balanceOf(address(splitter)), 250_000, "the splitter keeps only the fee");
        assertEq(channels.pendingRoyalties(fineTune), 1_000_000);
        assertEq(channels.flowRoyalties(fineTune), 550_000);
        assertEq(channels.pendingRoyalties(modelId), 300_000);
        assertEq(channels.datasetEarnings(datasetId), 150_000);
        vm.prank(tuner);
        assertEq(channels.withdrawModelEarnings(fineTune, tuner), 550_000);
        assertEq(usd.balanceOf(address(channels)), 450_000, "the stack's shares wait in PaymentChannels");
    }

    function test_settle_paysAModelWithoutStackDirectlyAsBefore() public {
        _settle(modelId, 10_000_001, "m");
        assertEq(usd.balanceOf(creator), 1_000_000);
        assertEq(channels.pendingRoyalties(modelId), 0);
    }

    function test_settle_zeroRoyaltyStackedModelCreditsNothing() public {
        uint256 free = _registerDerivative(tuner, 0, _parents(modelId, FINE_TUNE, 3000), _noData());
        _settle(free, 1000, "z");
        assertEq(channels.pendingRoyalties(free), 0);
        assertEq(usd.balanceOf(provider), 975);
    }
}
