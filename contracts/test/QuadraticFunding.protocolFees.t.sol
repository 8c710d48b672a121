// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {FundingFixture} from "./utils/FundingFixture.sol";
import {QuadraticFunding} from "../src/QuadraticFunding.sol";
import {FundingRounds} from "../src/funding/FundingRounds.sol";
import {ProtocolFeeReserve} from "../src/funding/ProtocolFeeReserve.sol";
import {Stewardship} from "../src/funding/Stewardship.sol";
import {TestToken} from "../src/TestToken.sol";

/// @notice The protocol fee on every paid inference feeding the protocol round's matching pool:
///         collected from PaymentChannels, held in reserve while no protocol round is open, fixed at
///         finalization, and what a protocol round leaves unallocated going back to the protocol.
contract QuadraticFundingProtocolFeesTest is FundingFixture {
    /// @dev A default round designated as the protocol round by the steward.
    function _protocolRound() internal returns (uint256 roundId) {
        roundId = _createRound();
        vm.prank(steward);
        qf.setProtocolRound(roundId);
    }

    function test_collectProtocolFees_withNoProtocolRoundHoldsThemInReserve() public {
        _payInference(sender, senderKey, modelId, 100e6);
        assertEq(channels.earnings(address(qf)), _fee(100e6), "the fee is credited to the funding contract");
        vm.expectEmit(address(qf));
        emit ProtocolFeeReserve.ProtocolFeesCollected(0, _fee(100e6));
        vm.prank(stranger); // anyone may collect
        assertEq(qf.collectProtocolFees(), _fee(100e6));
        assertEq(qf.reserve(), _fee(100e6));
        assertEq(_held(), _fee(100e6));
        assertEq(channels.earnings(address(qf)), 0);
        assertEq(qf.collectProtocolFees(), 0, "nothing more to collect");
    }

    function test_setProtocolRound_movesTheReserveIntoThePool() public {
        _payInference(sender, senderKey, modelId, 100e6);
        qf.collectProtocolFees();
        uint256 roundId = _protocolRound();
        assertEq(qf.reserve(), 0);
        assertEq(qf.getRound(roundId).pool, _fee(100e6));
        assertTrue(qf.getRound(roundId).protocolFunded);
        assertEq(qf.protocolRoundId(), roundId);
    }

    function test_collectProtocolFees_paidRequestsRaiseTheProtocolRoundsPool() public {
        uint256 roundId = _protocolRound();
        _payInference(sender, senderKey, modelId, 40e6);
        _payInference(sender, senderKey, modelId, 60e6);
        vm.expectEmit(address(qf));
        emit ProtocolFeeReserve.ProtocolFeesCollected(roundId, _fee(100e6));
        qf.collectProtocolFees();
        assertEq(qf.getRound(roundId).pool, _fee(100e6));
    }

    function test_finalize_collectsOutstandingFeesBeforeFixingThePool() public {
        uint256 roundId = _protocolRound();
        uint256 projectId = _applyModel(roundId, creator, modelId);
        _donate(roundId, projectId, _newDonor(), 1e6);
        _donate(roundId, projectId, _newDonor(), 1e6);
        _payInference(sender, senderKey, modelId, 80e6); // not collected by anyone
        _finalize(roundId);
        assertEq(qf.getRound(roundId).pool, _fee(80e6));
        (uint256 d,) = qf.matchOf(roundId, projectId);
        assertEq(d, _fee(80e6), "the only project with weight takes the pool");
    }

    function test_collectProtocolFees_afterFinalizationGoToTheReserveNotTheFixedPool() public {
        uint256 roundId = _protocolRound();
        _fundPool(roundId, 5e6);
        _finalize(roundId);
        _payInference(sender, senderKey, modelId, 100e6);
        qf.collectProtocolFees();
        assertEq(qf.getRound(roundId).pool, 5e6, "the pool was fixed at finalization");
        assertEq(qf.reserve(), 5e6 + _fee(100e6), "the unallocated pool and the new fee wait for the next round");
    }

    function test_finalize_protocolRoundsUnallocatedPartGoesToTheNextProtocolRound() public {
        uint256 first = _protocolRound();
        _fundPool(first, 9e6);
        uint256 second = _createRound(_params()); // created before the first is finalized
        vm.prank(steward);
        qf.setProtocolRound(second);
        _endRound(first);
        vm.expectEmit(address(qf));
        emit ProtocolFeeReserve.UnallocatedReturned(first, second, 9e6);
        qf.finalize(first); // no project: the whole pool is unallocated
        assertEq(qf.getRound(second).pool, 9e6);
        assertEq(qf.getRound(first).unallocated, 0);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.UnallocatedReturnedToProtocol.selector, first));
        qf.withdrawUnallocated(first, operator);
    }

    function test_setProtocolRound_revertsForAnyoneButTheSteward() public {
        uint256 roundId = _createRound();
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(Stewardship.NotSteward.selector, operator));
        qf.setProtocolRound(roundId);
    }

    function test_setProtocolRound_revertsForARoundInAnotherToken() public {
        TestToken other = new TestToken("Other", "OTH", 18);
        QuadraticFunding.RoundParams memory params = _params();
        params.token = IERC20(address(other));
        uint256 roundId = _createRound(params);
        vm.prank(steward);
        vm.expectRevert(
            abi.encodeWithSelector(ProtocolFeeReserve.WrongToken.selector, roundId, address(other), address(usd))
        );
        qf.setProtocolRound(roundId);
    }

    function test_setProtocolRound_revertsForAFinalizedOrMissingRound() public {
        uint256 roundId = _createRound();
        _finalize(roundId);
        vm.startPrank(steward);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.RoundAlreadyFinalized.selector, roundId));
        qf.setProtocolRound(roundId);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.RoundNotFound.selector, 5));
        qf.setProtocolRound(5);
        vm.stopPrank();
    }

    function test_collectProtocolFees_revertsBeforePaymentChannelsAreWired() public {
        QuadraticFunding fresh = new QuadraticFunding(models, steward);
        vm.expectRevert(Stewardship.PaymentChannelsNotSet.selector);
        fresh.collectProtocolFees();
    }

    /// @notice Every token that reached the contract (fees, pool top-ups, donations) leaves it as a
    ///         claim or stays accounted for in the reserve.
    function test_protocolRound_endToEnd_tokensInEqualTokensOutPlusReserve() public {
        uint256 roundId = _protocolRound();
        uint256 a = _applyModel(roundId, creator, modelId);
        uint256 b = _applyModel(roundId, creator2, modelId2);
        _donate(roundId, a, _newDonor(), 3e6);
        _donate(roundId, a, _newDonor(), 5e6);
        _donate(roundId, b, _newDonor(), 7e6);
        _donate(roundId, b, _newDonor(), 1e6);
        _fundPool(roundId, 11e6);
        _payInference(sender, senderKey, modelId, 123_456_789);
        _finalize(roundId);
        uint256 pool = qf.getRound(roundId).pool;
        assertEq(pool, 11e6 + _fee(123_456_789));
        vm.prank(creator);
        uint256 paidA = qf.claim(roundId, a, creator);
        vm.prank(creator2);
        uint256 paidB = qf.claim(roundId, b, creator2);
        assertEq(paidA + paidB + qf.reserve(), pool + 16e6, "claims + dust returned to reserve == pool + donations");
        assertEq(_held(), qf.reserve());
        assertLt(qf.reserve(), 2, "only rounding dust went back");
    }
}
