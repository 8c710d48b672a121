// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {InvariantTest} from "./InvariantTest.sol";
import {TestToken} from "../../src/TestToken.sol";
import {X402BatchSettlement} from "../../src/x402/X402BatchSettlement.sol";
import {ERC3009DepositCollector} from "../../src/x402/ERC3009DepositCollector.sol";
import {X402BatchSettlementHandler} from "./handlers/X402BatchSettlementHandler.sol";

/// @notice Whatever payers, receivers and time do, X402BatchSettlement holds exactly what was
///         deposited less what was paid out, claims never pass a signed voucher or a balance, and
///         each receiver is paid exactly what it claimed and settled.
/// forge-config: default.isolate = true
contract X402BatchSettlementInvariantTest is InvariantTest {
    address internal constant BATCH = 0x4020074e9dF2ce1deE5A9C1b5c3f541D02a10003;
    address internal constant COLLECTOR = 0x4020806089470a89826cB9fB1f4059150b550004;

    X402BatchSettlement internal batch = X402BatchSettlement(BATCH);
    TestToken internal usd;
    X402BatchSettlementHandler internal handler;

    function setUp() public {
        (usd,,,) = _deployRegistries();
        vm.etch(BATCH, address(new X402BatchSettlement()).code);
        vm.etch(COLLECTOR, address(new ERC3009DepositCollector()).code);
        handler = new X402BatchSettlementHandler(batch, usd);
        bytes4[] memory selectors = new bytes4[](7);
        selectors[0] = handler.deposit.selector;
        selectors[1] = handler.claim.selector;
        selectors[2] = handler.settle.selector;
        selectors[3] = handler.initiateWithdraw.selector;
        selectors[4] = handler.finalizeWithdraw.selector;
        selectors[5] = handler.refund.selector;
        selectors[6] = handler.warp.selector;
        _targetHandler(address(handler), selectors);
    }

    /// @dev The contract's tokens are the deposits less the withdrawals, refunds and settlements.
    function invariant_fundsConserved() public view {
        assertEq(usd.balanceOf(BATCH), handler.ghostDeposited() - handler.ghostReturned() - handler.ghostSettled());
        assertEq(usd.balanceOf(COLLECTOR), 0, "the collector keeps nothing");
    }

    /// @dev A channel's claim is within its balance and its payer's highest voucher; receivers' claims are the channels'.
    function invariant_claimsWithinVouchersAndBalances() public view {
        uint256 claimedByChannels;
        uint256 unclaimed;
        for (uint256 i; i < handler.channelCount(); ++i) {
            bytes32 id = handler.channelIds(i);
            (uint128 balance, uint128 claimed) = batch.channels(id);
            assertTrue(claimed <= balance, "claimed within the balance");
            assertTrue(claimed <= handler.signed(id), "claimed within the voucher");
            claimedByChannels += claimed;
            unclaimed += balance - claimed;
        }
        uint256 claimedByReceivers;
        uint256 unpaid;
        for (uint256 j; j < 2; ++j) {
            address receiver = handler.receivers(j);
            (uint128 claimed, uint128 settled) = batch.receivers(receiver, address(usd));
            claimedByReceivers += claimed;
            unpaid += claimed - settled;
            assertEq(usd.balanceOf(receiver), handler.ghostPaid(receiver), "a receiver is paid what it settled");
            assertEq(settled, handler.ghostPaid(receiver));
        }
        assertEq(claimedByReceivers, claimedByChannels);
        assertEq(usd.balanceOf(BATCH), unclaimed + unpaid, "held = unclaimed deposits + claimed, unpaid");
    }
}
