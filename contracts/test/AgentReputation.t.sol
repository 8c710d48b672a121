// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AgentFixture} from "./utils/AgentFixture.sol";
import {AgentRegistry} from "../src/AgentRegistry.sol";
import {AgentReputation, IX402PaymentRecord} from "../src/AgentReputation.sol";
import {AgentWallet} from "../src/AgentWallet.sol";

/// forge-config: default.isolate = true
contract AgentReputationTest is AgentFixture {
    uint16 internal constant REPUTATION_FEE_BPS = 200;

    AgentRegistry internal registry;
    AgentReputation internal reputation;
    uint256 internal agentId;
    address internal alice;
    address internal bob;

    function setUp() public override {
        super.setUp();
        registry = new AgentRegistry();
        // x402 payments are counted in AgentReputation.x402.t.sol; here only `payAgent` pays.
        reputation = new AgentReputation(usd, registry, fundingPool, REPUTATION_FEE_BPS, IX402PaymentRecord(address(0)));
        vm.startPrank(owner);
        wallet.setSignatureVerifier(address(registry), true);
        agentId = registry.register("ipfs://agent.json");
        vm.stopPrank();
        uint256 deadline = block.timestamp + 60;
        bytes memory signature = signDigest(agentKey, registry.walletSetDigest(agentId, address(wallet), owner, deadline));
        vm.prank(owner);
        registry.setAgentWallet(agentId, address(wallet), deadline, signature);

        alice = makeAddr("alice");
        bob = makeAddr("bob");
        for (uint256 i; i < 2; ++i) {
            address who = i == 0 ? alice : bob;
            usd.mint(who, 1_000e6);
            vm.prank(who);
            usd.approve(address(reputation), type(uint256).max);
        }
    }

    function _payAs(address payer, uint256 amount) internal returns (uint256 paymentId) {
        vm.prank(payer);
        paymentId = reputation.payAgent(agentId, amount, "order");
    }

    function _feedback(address reviewer, int128 value, uint8 decimals, string memory tag1) internal {
        vm.prank(reviewer);
        reputation.giveFeedback(agentId, value, decimals, tag1, "", "", "", bytes32(0));
    }

    function _summary() internal view returns (uint64 count, int128 value, uint8 decimals) {
        return reputation.getSummary(agentId, new address[](0), "", "");
    }

    // ---------------------------------------------------------------- paying

    function test_payAgent_paysTheWalletAndTheFeeAndRecordsIt() public {
        uint256 walletBefore = usd.balanceOf(address(wallet));
        vm.expectEmit(address(reputation));
        emit AgentReputation.AgentPaid(1, agentId, alice, address(wallet), 100e6, 2e6, "order");
        uint256 paymentId = _payAs(alice, 100e6);
        assertEq(paymentId, 1);
        assertEq(usd.balanceOf(address(wallet)) - walletBefore, 98e6);
        assertEq(usd.balanceOf(fundingPool), 2e6);
        AgentReputation.Payment memory p = reputation.getPayment(1);
        assertEq(p.payer, alice);
        assertEq(p.agentId, agentId);
        assertEq(p.amount, 100e6);
        assertFalse(p.cited);
        assertEq(reputation.paymentCount(), 1);
    }

    function test_payAgent_refusesSelfDealing() public {
        usd.mint(owner, 10e6);
        vm.startPrank(owner);
        usd.approve(address(reputation), 10e6);
        vm.expectRevert(abi.encodeWithSelector(AgentReputation.SelfDealing.selector, agentId, owner));
        reputation.payAgent(agentId, 10e6, "");
        vm.stopPrank();
    }

    function test_payAgent_refusesBadInput() public {
        vm.startPrank(alice);
        vm.expectRevert(AgentReputation.ZeroAmount.selector);
        reputation.payAgent(agentId, 0, "");
        vm.expectRevert(abi.encodeWithSelector(AgentReputation.AgentNotFound.selector, 99));
        reputation.payAgent(99, 1, "");
        vm.stopPrank();
        vm.prank(owner);
        registry.unsetAgentWallet(agentId);
        vm.expectRevert(abi.encodeWithSelector(AgentReputation.AgentHasNoWallet.selector, agentId));
        vm.prank(alice);
        reputation.payAgent(agentId, 1, "");
    }

    // ---------------------------------------------------------------- feedback needs a payment

    function test_giveFeedback_withoutAPaymentIsRefused() public {
        vm.expectRevert(abi.encodeWithSelector(AgentReputation.NoPaymentToCite.selector, agentId, alice));
        _feedback(alice, 100, 0, "");
        (uint64 count,,) = _summary();
        assertEq(count, 0);
    }

    function test_giveFeedback_citesEveryUncitedPaymentOnce() public {
        _payAs(alice, 10e6);
        _payAs(alice, 20e6);
        vm.expectEmit(address(reputation));
        emit AgentReputation.NewFeedback(agentId, alice, 1, 90, 0, "quality", "quality", "", "", "", bytes32(0));
        vm.expectEmit(address(reputation));
        emit AgentReputation.FeedbackWeighted(agentId, alice, 1, 30e6, 2);
        _feedback(alice, 90, 0, "quality");
        assertEq(reputation.feedbackWeight(agentId, alice, 1), 30e6);
        assertTrue(reputation.getPayment(1).cited);
        assertTrue(reputation.getPayment(2).cited);
        // Every payment is cited: the next feedback needs a new payment.
        vm.expectRevert(abi.encodeWithSelector(AgentReputation.NoPaymentToCite.selector, agentId, alice));
        _feedback(alice, 10, 0, "quality");
    }

    function test_giveFeedbackForPayment_citesOne() public {
        uint256 first = _payAs(alice, 10e6);
        _payAs(alice, 50e6);
        vm.prank(alice);
        reputation.giveFeedbackForPayment(first, 80, 0, "", "", "", "", bytes32(0));
        assertEq(reputation.feedbackWeight(agentId, alice, 1), 10e6);
        vm.expectRevert(abi.encodeWithSelector(AgentReputation.PaymentAlreadyCited.selector, first));
        vm.prank(alice);
        reputation.giveFeedbackForPayment(first, 80, 0, "", "", "", "", bytes32(0));
        // The uncited one is still there for the ERC-8004 path.
        _feedback(alice, 60, 0, "");
        assertEq(reputation.feedbackWeight(agentId, alice, 2), 50e6);
    }

    function test_giveFeedbackForPayment_refusesOthersAndUnknownPayments() public {
        uint256 paymentId = _payAs(alice, 10e6);
        vm.expectRevert(abi.encodeWithSelector(AgentReputation.NotPayer.selector, paymentId, bob));
        vm.prank(bob);
        reputation.giveFeedbackForPayment(paymentId, 0, 0, "", "", "", "", bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(AgentReputation.PaymentNotFound.selector, 7));
        vm.prank(bob);
        reputation.giveFeedbackForPayment(7, 0, 0, "", "", "", "", bytes32(0));
    }

    function test_giveFeedback_refusesTheOwnerEvenAfterAPayment() public {
        _payAs(alice, 10e6);
        // alice later becomes an operator of the agent: she can no longer review it.
        vm.prank(owner);
        registry.setApprovalForAll(alice, true);
        vm.expectRevert(abi.encodeWithSelector(AgentReputation.SelfDealing.selector, agentId, alice));
        _feedback(alice, 100, 0, "");
    }

    function test_giveFeedback_refusesValuesOutOfRange() public {
        _payAs(alice, 10e6);
        vm.expectRevert(abi.encodeWithSelector(AgentReputation.ValueDecimalsTooLarge.selector, 19, 18));
        _feedback(alice, 1, 19, "");
        int128 tooLarge = 1e20 + 1;
        vm.expectRevert(abi.encodeWithSelector(AgentReputation.ValueTooLarge.selector, tooLarge));
        _feedback(alice, tooLarge, 0, "");
    }

    // ---------------------------------------------------------------- the summary

    function test_getSummary_isWeightedByWhatWasPaid() public {
        _payAs(alice, 30e6);
        _payAs(bob, 10e6);
        _feedback(alice, 100, 0, "");
        _feedback(bob, 0, 0, "");
        (uint64 count, int128 value, uint8 decimals) = _summary();
        assertEq(count, 2);
        assertEq(uint256(int256(value)), 75);
        assertEq(decimals, 0);
        (,,, uint256 totalWeight) = reputation.getPaidSummary(agentId, new address[](0), "", "");
        assertEq(totalWeight, 40e6);
    }

    function test_getSummary_aSybilWithATinyPaymentBarelyMovesIt() public {
        _payAs(alice, 100e6);
        _feedback(alice, 20, 0, "");
        // Ten fresh addresses, each paying one base unit, all rate 100.
        for (uint256 i; i < 10; ++i) {
            address sybil = makeAddr(string.concat("sybil", vm.toString(i)));
            usd.mint(sybil, 1);
            vm.startPrank(sybil);
            usd.approve(address(reputation), 1);
            reputation.payAgent(agentId, 1, "");
            reputation.giveFeedback(agentId, 100, 0, "", "", "", "", bytes32(0));
            vm.stopPrank();
        }
        (uint64 count, int128 value,) = _summary();
        assertEq(count, 11);
        assertEq(uint256(int256(value)), 20, "ten sybils with 10 base units against 100e6 paid");
    }

    function test_getSummary_normalizesDecimalsAndHandlesNegatives() public {
        _payAs(alice, 10e6);
        _payAs(bob, 10e6);
        _feedback(alice, 45, 1, ""); // 4.5
        _feedback(bob, -3, 0, ""); // -3.0 = -30 at one decimal
        (, int128 value, uint8 decimals) = _summary();
        assertEq(decimals, 1);
        vm.assertEq(int256(value), int256(7), "(4.5 - 3.0) / 2 = 0.75, rounded toward zero at one decimal");
    }

    function test_getSummary_filtersByTagAndReviewer() public {
        _payAs(alice, 10e6);
        _payAs(bob, 10e6);
        _feedback(alice, 100, 0, "speed");
        _feedback(bob, 50, 0, "quality");
        (uint64 count, int128 value,) = reputation.getSummary(agentId, new address[](0), "speed", "");
        assertEq(count, 1);
        assertEq(uint256(int256(value)), 100);
        address[] memory onlyBob = new address[](1);
        onlyBob[0] = bob;
        (count, value,) = reputation.getSummary(agentId, onlyBob, "", "");
        assertEq(count, 1);
        assertEq(uint256(int256(value)), 50);
        assertEq(reputation.getClients(agentId).length, 2);
        assertEq(reputation.getLastIndex(agentId, bob), 1);
    }

    function test_revokeFeedback_removesItFromTheSummary() public {
        _payAs(alice, 10e6);
        _payAs(bob, 10e6);
        _feedback(alice, 100, 0, "");
        _feedback(bob, 0, 0, "");
        vm.prank(alice);
        reputation.revokeFeedback(agentId, 1);
        (uint64 count, int128 value,) = _summary();
        assertEq(count, 1);
        vm.assertEq(int256(value), int256(0), "only bob counts");
        (,,,, bool isRevoked) = reputation.readFeedback(agentId, alice, 1);
        assertTrue(isRevoked);
        vm.expectRevert(abi.encodeWithSelector(AgentReputation.FeedbackAlreadyRevoked.selector, agentId, 1));
        vm.prank(alice);
        reputation.revokeFeedback(agentId, 1);
        vm.expectRevert(abi.encodeWithSelector(AgentReputation.FeedbackNotFound.selector, agentId, bob, 2));
        vm.prank(bob);
        reputation.revokeFeedback(agentId, 2);
    }

    function test_appendResponse() public {
        _payAs(alice, 10e6);
        _feedback(alice, 100, 0, "");
        vm.prank(owner);
        reputation.appendResponse(agentId, alice, 1, "ipfs://thanks", bytes32(0));
        vm.expectRevert(AgentReputation.EmptyResponseURI.selector);
        reputation.appendResponse(agentId, alice, 1, "", bytes32(0));
    }

    function test_appendResponse_isCountedByResponderAsERC8004CountsIt() public {
        _payAs(alice, 10e6);
        _feedback(alice, 100, 0, "");
        _payAs(alice, 10e6);
        _feedback(alice, 50, 0, "");
        _payAs(bob, 10e6);
        _feedback(bob, 80, 0, "");
        address auditor = makeAddr("auditor");
        vm.expectEmit(address(reputation));
        emit AgentReputation.ResponseAppended(agentId, alice, 1, owner, "ipfs://thanks", keccak256("thanks"));
        vm.prank(owner);
        reputation.appendResponse(agentId, alice, 1, "ipfs://thanks", keccak256("thanks"));
        vm.prank(owner);
        reputation.appendResponse(agentId, alice, 1, "ipfs://again", bytes32(0));
        vm.prank(auditor);
        reputation.appendResponse(agentId, alice, 1, "ipfs://audit", bytes32(0));
        vm.prank(auditor);
        reputation.appendResponse(agentId, alice, 2, "ipfs://audit2", bytes32(0));
        vm.prank(owner);
        reputation.appendResponse(agentId, bob, 1, "ipfs://bob", bytes32(0));

        address[] memory anyone = new address[](0);
        address[] memory onlyOwner = new address[](1);
        onlyOwner[0] = owner;
        address[] memory both = new address[](2);
        (both[0], both[1]) = (owner, auditor);
        assertEq(reputation.getResponseCount(agentId, alice, 1, anyone), 3, "one feedback, every responder");
        assertEq(reputation.getResponseCount(agentId, alice, 1, onlyOwner), 2, "one feedback, one responder");
        assertEq(reputation.getResponseCount(agentId, alice, 2, onlyOwner), 0);
        assertEq(reputation.getResponseCount(agentId, alice, 0, anyone), 4, "every feedback of one reviewer");
        assertEq(reputation.getResponseCount(agentId, alice, 0, both), 4);
        assertEq(reputation.getResponseCount(agentId, address(0), 0, anyone), 5, "every feedback of the agent");
        assertEq(reputation.getResponseCount(agentId, address(0), 0, onlyOwner), 3);
        assertEq(reputation.getResponseCount(agentId, bob, 2, anyone), 0, "a feedback that does not exist has none");
    }

    function test_readAllFeedback_listsByReviewerThenIndex_withTheTagAndRevokedFilters() public {
        _payAs(alice, 10e6);
        _feedback(alice, 100, 0, "speed");
        _payAs(bob, 20e6);
        vm.prank(bob);
        reputation.giveFeedback(agentId, -25, 1, "quality", "chat", "https://p.example/v1", "ipfs://b", bytes32(0));
        _payAs(alice, 10e6);
        _feedback(alice, 70, 0, "quality");
        vm.prank(alice);
        reputation.revokeFeedback(agentId, 1);

        (
            address[] memory clients,
            uint64[] memory indexes,
            int128[] memory values,
            uint8[] memory decimals,
            string[] memory tag1s,
            string[] memory tag2s,
            bool[] memory revoked
        ) = reputation.readAllFeedback(agentId, new address[](0), "", "", true);
        assertEq(clients.length, 3);
        assertEq(clients[0], alice);
        assertEq(clients[1], alice);
        assertEq(clients[2], bob);
        assertEq(indexes[0], 1);
        assertEq(indexes[1], 2);
        assertEq(indexes[2], 1);
        vm.assertEq(int256(values[0]), int256(100), "value");
        vm.assertEq(int256(values[1]), int256(70), "value");
        vm.assertEq(int256(values[2]), int256(-25), "value");
        assertEq(decimals[0], 0);
        assertEq(decimals[1], 0);
        assertEq(decimals[2], 1);
        assertEq(tag1s[0], "speed");
        assertEq(tag1s[1], "quality");
        assertEq(tag1s[2], "quality");
        assertEq(tag2s[0], "");
        assertEq(tag2s[1], "");
        assertEq(tag2s[2], "chat");
        assertTrue(revoked[0]);
        assertFalse(revoked[1]);
        assertFalse(revoked[2]);

        (clients, indexes,,,,, revoked) = reputation.readAllFeedback(agentId, new address[](0), "", "", false);
        assertEq(clients.length, 2, "a revoked feedback is left out unless asked for");
        assertEq(clients[0], alice);
        assertEq(indexes[0], 2);
        assertEq(clients[1], bob);

        (clients, indexes,,,,,) = reputation.readAllFeedback(agentId, new address[](0), "quality", "chat", true);
        assertEq(clients.length, 1);
        assertEq(clients[0], bob);
        assertEq(indexes[0], 1);

        address[] memory onlyBob = new address[](1);
        onlyBob[0] = bob;
        (clients,, values,,,,) = reputation.readAllFeedback(agentId, onlyBob, "", "", true);
        assertEq(clients.length, 1);
        vm.assertEq(int256(values[0]), int256(-25), "value");

        (clients,,,,,,) = reputation.readAllFeedback(agentId, new address[](0), "none", "", true);
        assertEq(clients.length, 0);
    }

    // ---------------------------------------------------------------- an agent wallet as the reviewer

    function test_anAgentWalletPaysAnotherAgentWithinItsBudgetAndReviewsIt() public {
        // A second agent, with a wallet of its own, buys from the first and reviews it.
        (address buyerAgent,) = makeAddrAndKey("buyer agent");
        AgentWallet.Config memory config = _config(makeAddr("buyer owner"), buyerAgent);
        config.calls = new AgentWallet.CallPermission[](3);
        config.calls[0] = AgentWallet.CallPermission(address(usd), APPROVE);
        config.calls[1] = AgentWallet.CallPermission(address(reputation), AgentReputation.payAgent.selector);
        config.calls[2] = AgentWallet.CallPermission(address(reputation), AgentReputation.giveFeedback.selector);
        AgentWallet buyer = factory.createWallet(config, bytes32(uint256(9)));
        usd.mint(address(buyer), 100e6);

        AgentWallet.Call[] memory calls = new AgentWallet.Call[](2);
        calls[0] = AgentWallet.Call(address(usd), 0, abi.encodeWithSelector(APPROVE, address(reputation), 30e6));
        calls[1] = AgentWallet.Call(address(reputation), 0, abi.encodeCall(AgentReputation.payAgent, (agentId, 30e6, "job")));
        vm.prank(buyerAgent);
        buyer.executeBatch(calls);
        assertEq(buyer.budgetLeft(address(usd)), BUDGET - 30e6, "paying counted against the buyer's budget");

        vm.prank(buyerAgent);
        buyer.execute(
            address(reputation),
            0,
            abi.encodeCall(AgentReputation.giveFeedback, (agentId, 95, 0, "", "", "", "", bytes32(0)))
        );
        assertEq(reputation.feedbackWeight(agentId, address(buyer), 1), 30e6);
    }

    // ---------------------------------------------------------------- fuzz

    /// @notice The summary always lies between the smallest and the largest value counted.
    function testFuzz_getSummary_liesBetweenTheValues(int128[4] memory values, uint256[4] memory amounts) public {
        int256 lowest = type(int256).max;
        int256 highest = type(int256).min;
        for (uint256 i; i < 4; ++i) {
            int128 value = int128(int256(bound(uint256(int256(values[i]) + 1e20), 0, 2e20)) - 1e20);
            address reviewer = makeAddr(string.concat("reviewer", vm.toString(i)));
            uint256 amount = bound(amounts[i], 1, 1e30);
            usd.mint(reviewer, amount);
            vm.startPrank(reviewer);
            usd.approve(address(reputation), amount);
            reputation.payAgent(agentId, amount, "");
            reputation.giveFeedback(agentId, value, 0, "", "", "", "", bytes32(0));
            vm.stopPrank();
            if (value < lowest) lowest = value;
            if (value > highest) highest = value;
        }
        (uint64 count, int128 mean,) = _summary();
        assertEq(count, 4);
        // The mean rounds toward zero once, by less than one unit.
        assertTrue(int256(mean) >= lowest - 1 && int256(mean) <= highest + 1, "mean within the values");
    }
}
