// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {FundingFixture} from "./utils/FundingFixture.sol";
import {Eip3009Signing} from "./utils/Eip3009Signing.sol";
import {QuadraticFunding} from "../src/QuadraticFunding.sol";
import {PaymentChannels} from "../src/PaymentChannels.sol";
import {ProtocolFeeReserve} from "../src/funding/ProtocolFeeReserve.sol";
import {Stewardship} from "../src/funding/Stewardship.sol";
import {IProtocolFeeSource} from "../src/funding/IProtocolFeeSource.sol";
import {TestToken} from "../src/TestToken.sol";
import {X402Splitter, IPaymentTerms} from "../src/X402Splitter.sol";

/// @notice The protocol fee of x402 payments reaching funding: X402Splitter wired once by the
///         deployer, and `collectProtocolFees` (and `finalize` of a protocol round) taking its fees
///         together with PaymentChannels', to the base unit.
contract QuadraticFundingX402FeesTest is FundingFixture, Eip3009Signing {
    X402Splitter internal splitter;
    uint256 private _nonce;

    function setUp() public override {
        super.setUp();
        splitter = new X402Splitter(IPaymentTerms(address(channels)));
        qf.setX402Splitter(IProtocolFeeSource(address(splitter)));
    }

    /// @dev `sender` pays `amount` for `modelId` served by `provider` through an x402 `exact`
    ///      settlement; returns the fee it credited to the funding contract.
    function _payX402(uint256 amount) internal returns (uint256 fee) {
        usd.mint(sender, amount);
        Authorization memory a = Authorization(
            sender, splitter.payeeOf(provider, modelId), amount, 0, block.timestamp + 60, bytes32(++_nonce)
        );
        Signature memory s = _signAuthorization(senderKey, address(usd), usd.name(), TRANSFER_TYPEHASH, a);
        vm.prank(provider);
        (, fee,) = splitter.settle(
            provider,
            modelId,
            X402Splitter.Authorization(a.from, a.value, a.validAfter, a.validBefore, a.nonce, s.v, s.r, s.s)
        );
    }

    function _protocolRound() internal returns (uint256 roundId) {
        roundId = _createRound();
        vm.prank(steward);
        qf.setProtocolRound(roundId);
    }

    function test_setX402Splitter_wiresIt() public view {
        assertEq(address(qf.x402Splitter()), address(splitter));
    }

    function test_setX402Splitter_emitsX402SplitterSet() public {
        QuadraticFunding fresh = _freshFunding();
        X402Splitter other = new X402Splitter(IPaymentTerms(address(fresh.paymentChannels())));
        vm.expectEmit(address(fresh));
        emit Stewardship.X402SplitterSet(address(other));
        fresh.setX402Splitter(IProtocolFeeSource(address(other)));
    }

    function test_collectProtocolFees_takesX402FeesWithVoucherFeesInOneCollection() public {
        uint256 roundId = _protocolRound();
        uint256 x402Fee = _payX402(123_456_789);
        _payInference(sender, senderKey, modelId, 40e6);
        assertEq(x402Fee, _fee(123_456_789), "the splitter's fee is PaymentChannels' fee on the same amount");
        assertEq(splitter.earnings(address(qf)), x402Fee, "credited to the funding contract in the splitter");

        vm.expectEmit(address(qf));
        emit ProtocolFeeReserve.ProtocolFeesCollected(roundId, x402Fee + _fee(40e6));
        vm.prank(stranger); // anyone may collect
        assertEq(qf.collectProtocolFees(), x402Fee + _fee(40e6));

        assertEq(qf.getRound(roundId).pool, x402Fee + _fee(40e6), "both fees in the protocol round's pool");
        assertEq(splitter.earnings(address(qf)), 0, "nothing left in the splitter");
        assertEq(channels.earnings(address(qf)), 0, "nothing left in the channels");
        assertEq(_held(), x402Fee + _fee(40e6), "the tokens arrived");
        assertEq(qf.collectProtocolFees(), 0, "nothing more to collect");
    }

    function test_collectProtocolFees_takesX402FeesAloneIntoTheReserve() public {
        uint256 fee = _payX402(1e6);
        assertEq(fee, 25_000);
        vm.expectEmit(address(qf));
        emit ProtocolFeeReserve.ProtocolFeesCollected(0, fee);
        assertEq(qf.collectProtocolFees(), fee);
        assertEq(qf.reserve(), fee);
        assertEq(usd.balanceOf(address(splitter)), 0, "the splitter holds nothing more");
    }

    function test_finalize_collectsOutstandingX402FeesBeforeFixingThePool() public {
        uint256 roundId = _protocolRound();
        uint256 projectId = _applyModel(roundId, creator, modelId);
        _donate(roundId, projectId, _newDonor(), 1e6);
        _donate(roundId, projectId, _newDonor(), 1e6);
        uint256 fee = _payX402(80e6); // not collected by anyone
        _finalize(roundId);
        assertEq(qf.getRound(roundId).pool, fee);
        (uint256 d,) = qf.matchOf(roundId, projectId);
        assertEq(d, fee, "the only project with weight takes the x402 fee");
    }

    function test_setX402Splitter_revertsForAnyoneButTheDeployer() public {
        QuadraticFunding fresh = _freshFunding();
        X402Splitter other = new X402Splitter(IPaymentTerms(address(fresh.paymentChannels())));
        vm.prank(steward); // not even the steward
        vm.expectRevert(abi.encodeWithSelector(Stewardship.NotDeployer.selector, steward));
        fresh.setX402Splitter(IProtocolFeeSource(address(other)));
    }

    function test_setX402Splitter_revertsTheSecondTime() public {
        X402Splitter other = new X402Splitter(IPaymentTerms(address(channels)));
        vm.expectRevert(abi.encodeWithSelector(Stewardship.X402SplitterAlreadySet.selector, address(splitter)));
        qf.setX402Splitter(IProtocolFeeSource(address(other)));
    }

    function test_setX402Splitter_revertsBeforePaymentChannelsAreWired() public {
        QuadraticFunding fresh = new QuadraticFunding(models, steward);
        vm.expectRevert(Stewardship.PaymentChannelsNotSet.selector);
        fresh.setX402Splitter(IProtocolFeeSource(address(splitter)));
    }

    function test_setX402Splitter_revertsForASplitterPayingAnotherFundingPool() public {
        QuadraticFunding fresh = _freshFunding();
        // `splitter` credits `qf`, not `fresh`.
        vm.expectRevert(abi.encodeWithSelector(Stewardship.NotFundingPoolOf.selector, address(qf)));
        fresh.setX402Splitter(IProtocolFeeSource(address(splitter)));
    }

    function test_setX402Splitter_revertsForASplitterInAnotherToken() public {
        QuadraticFunding fresh = _freshFunding();
        TestToken other = new TestToken("Other", "OTH", 6);
        PaymentChannels otherChannels =
            new PaymentChannels(other, models, providers, address(fresh), FEE_BPS, CHALLENGE_PERIOD);
        X402Splitter otherSplitter = new X402Splitter(IPaymentTerms(address(otherChannels)));
        vm.expectRevert(
            abi.encodeWithSelector(Stewardship.FeeSourceTokenMismatch.selector, address(other), address(usd))
        );
        fresh.setX402Splitter(IProtocolFeeSource(address(otherSplitter)));
    }

    /// @dev A QuadraticFunding deployed by this test and wired to PaymentChannels of its own (in `usd`).
    function _freshFunding() internal returns (QuadraticFunding fresh) {
        fresh = new QuadraticFunding(models, steward);
        fresh.setPaymentChannels(new PaymentChannels(usd, models, providers, address(fresh), FEE_BPS, CHALLENGE_PERIOD));
    }
}
