// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.26;

import {Fixture} from "./utils/Fixture.sol";
import {Eip3009Signing} from "./utils/Eip3009Signing.sol";
import {AgentRegistry} from "../src/AgentRegistry.sol";
import {AgentReputation, IX402PaymentRecord} from "../src/AgentReputation.sol";
import {X402Splitter, IPaymentTerms} from "../src/X402Splitter.sol";

/// @notice x402 payments as payments for feedback: a provider registered as an ERC-8004 agent (its
///         wallet its own address) is paid through X402Splitter's `settle`, and the payer's feedback
///         weighs exactly what it paid, once.
/// forge-config: default.isolate = true
contract AgentReputationX402Test is Fixture, Eip3009Signing {
    uint16 internal constant REPUTATION_FEE_BPS = 200;

    AgentRegistry internal registry;
    AgentReputation internal reputation;
    X402Splitter internal splitter;
    /// @dev The provider's agent: registered by the provider, so its wallet is the provider.
    uint256 internal agentId;
    address internal payer;
    uint256 internal payerKey;
    uint256 private _nonce;

    function setUp() public override {
        super.setUp();
        registry = new AgentRegistry();
        splitter = new X402Splitter(IPaymentTerms(address(channels)));
        reputation =
            new AgentReputation(usd, registry, fundingPool, REPUTATION_FEE_BPS, IX402PaymentRecord(address(splitter)));
        vm.prank(provider);
        agentId = registry.register("data:application/json;base64,e30=");
        (payer, payerKey) = makeAddrAndKey("x402 payer");
        usd.mint(payer, 1_000_000e6);
        vm.prank(payer);
        usd.approve(address(reputation), type(uint256).max);
    }

    /// @dev `from` (key `key`) pays `value` to the provider for `modelId` through `settle`.
    function _settle(uint256 key, address from, uint256 value) internal {
        Authorization memory a =
            Authorization(from, splitter.payeeOf(provider, modelId), value, 0, block.timestamp + 60, bytes32(++_nonce));
        Signature memory s = _signAuthorization(key, address(usd), usd.name(), TRANSFER_TYPEHASH, a);
        vm.prank(provider);
        splitter.settle(
            provider,
            modelId,
            X402Splitter.Authorization(a.from, a.value, a.validAfter, a.validBefore, a.nonce, s.v, s.r, s.s)
        );
    }

    function _feedback(address reviewer, uint256 agent, int128 value) internal {
        vm.prank(reviewer);
        reputation.giveFeedback(agent, value, 0, "", "", "", "", bytes32(0));
    }

    /// @dev A second agent, owned by someone else, whose wallet the provider signed for (EIP-712, ECDSA).
    function _secondAgentSharingTheWallet() internal returns (uint256 second) {
        address otherOwner = makeAddr("other owner");
        vm.prank(otherOwner);
        second = registry.register("ipfs://second.json");
        uint256 deadline = block.timestamp + 60;
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(providerKey, registry.walletSetDigest(second, provider, otherOwner, deadline));
        vm.prank(otherOwner);
        registry.setAgentWallet(second, provider, deadline, abi.encodePacked(r, s, v));
        assertEq(registry.getAgentWallet(second), provider);
    }

    function test_constructor_takesTheSplitter() public view {
        assertEq(address(reputation.x402Splitter()), address(splitter));
        assertEq(registry.getAgentWallet(agentId), provider, "a provider that registers is its agent's wallet");
    }

    function test_giveFeedback_weighsAnX402PaymentExactly() public {
        _settle(payerKey, payer, 1_234_567);
        assertEq(splitter.paidBy(payer, provider), 1_234_567);
        assertEq(reputation.x402Uncited(agentId, payer), 1_234_567);
        vm.expectEmit(address(reputation));
        emit AgentReputation.NewFeedback(agentId, payer, 1, 90, 0, "", "", "", "", "", bytes32(0));
        vm.expectEmit(address(reputation));
        emit AgentReputation.FeedbackWeighted(agentId, payer, 1, 1_234_567, 0);
        vm.expectEmit(address(reputation));
        emit AgentReputation.X402PaymentsCited(agentId, payer, 1, provider, 1_234_567, 1_234_567);
        _feedback(payer, agentId, 90);
        assertEq(reputation.feedbackWeight(agentId, payer, 1), 1_234_567);
        (uint64 count, int128 value,, uint256 totalWeight) =
            reputation.getPaidSummary(agentId, new address[](0), "", "");
        assertEq(count, 1);
        assertEq(uint256(int256(value)), 90);
        assertEq(totalWeight, 1_234_567);
        assertEq(reputation.x402Uncited(agentId, payer), 0);
        assertEq(reputation.x402Cited(payer, provider), 1_234_567);
    }

    function test_giveFeedback_refusesASecondFeedbackWithoutANewPayment() public {
        _settle(payerKey, payer, 5e6);
        _feedback(payer, agentId, 90);
        vm.expectRevert(abi.encodeWithSelector(AgentReputation.NoPaymentToCite.selector, agentId, payer));
        _feedback(payer, agentId, 10);
    }

    function test_giveFeedback_aNewSettleAddsExactlyTheNewAmount() public {
        _settle(payerKey, payer, 5e6);
        _feedback(payer, agentId, 90);
        _settle(payerKey, payer, 7);
        _settle(payerKey, payer, 3);
        vm.expectEmit(address(reputation));
        emit AgentReputation.X402PaymentsCited(agentId, payer, 2, provider, 10, 5e6 + 10);
        _feedback(payer, agentId, 20);
        assertEq(reputation.feedbackWeight(agentId, payer, 2), 10);
        (,,, uint256 totalWeight) = reputation.getPaidSummary(agentId, new address[](0), "", "");
        assertEq(totalWeight, 5e6 + 10);
    }

    function test_giveFeedback_twoAgentsSharingAWalletCannotBothCiteAPayment() public {
        uint256 second = _secondAgentSharingTheWallet();
        _settle(payerKey, payer, 8e6);
        _feedback(payer, agentId, 90);
        vm.expectRevert(abi.encodeWithSelector(AgentReputation.NoPaymentToCite.selector, second, payer));
        _feedback(payer, second, 90);
        // A new payment to the wallet is cited by whichever of its agents is reviewed next.
        _settle(payerKey, payer, 2e6);
        _feedback(payer, second, 50);
        assertEq(reputation.feedbackWeight(second, payer, 1), 2e6);
        vm.expectRevert(abi.encodeWithSelector(AgentReputation.NoPaymentToCite.selector, agentId, payer));
        _feedback(payer, agentId, 90);
    }

    function test_giveFeedback_aWalletChangeReopensNothing() public {
        _settle(payerKey, payer, 8e6);
        _feedback(payer, agentId, 90);
        // The agent moves to another wallet, then back: what was cited of the provider stays cited.
        (address other, uint256 otherKey) = makeAddrAndKey("other wallet");
        uint256 deadline = block.timestamp + 60;
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(otherKey, registry.walletSetDigest(agentId, other, provider, deadline));
        vm.prank(provider);
        registry.setAgentWallet(agentId, other, deadline, abi.encodePacked(r, s, v));
        assertEq(reputation.x402Uncited(agentId, payer), 0, "nothing was paid to the new wallet");
        vm.expectRevert(abi.encodeWithSelector(AgentReputation.NoPaymentToCite.selector, agentId, payer));
        _feedback(payer, agentId, 90);
        (v, r, s) = vm.sign(providerKey, registry.walletSetDigest(agentId, provider, provider, deadline));
        vm.prank(provider);
        registry.setAgentWallet(agentId, provider, deadline, abi.encodePacked(r, s, v));
        vm.expectRevert(abi.encodeWithSelector(AgentReputation.NoPaymentToCite.selector, agentId, payer));
        _feedback(payer, agentId, 90);
    }

    function test_giveFeedback_refusesTheProviderReviewingItself() public {
        usd.mint(provider, 10e6);
        _settle(providerKey, provider, 10e6);
        assertEq(splitter.paidBy(provider, provider), 10e6);
        vm.expectRevert(abi.encodeWithSelector(AgentReputation.SelfDealing.selector, agentId, provider));
        _feedback(provider, agentId, 100);
        // Nor can it review another agent whose wallet it is.
        uint256 second = _secondAgentSharingTheWallet();
        vm.expectRevert(abi.encodeWithSelector(AgentReputation.SelfDealing.selector, second, provider));
        _feedback(provider, second, 100);
    }

    function test_giveFeedback_refusesAReviewerWhoNeverPaid() public {
        _settle(payerKey, payer, 8e6);
        vm.expectRevert(abi.encodeWithSelector(AgentReputation.NoPaymentToCite.selector, agentId, sender));
        _feedback(sender, agentId, 100);
    }

    function test_giveFeedback_weighsPayAgentAndX402PaymentsTogether() public {
        vm.prank(payer);
        reputation.payAgent(agentId, 3e6, "order");
        _settle(payerKey, payer, 4e6);
        vm.expectEmit(address(reputation));
        emit AgentReputation.FeedbackWeighted(agentId, payer, 1, 7e6, 1);
        vm.expectEmit(address(reputation));
        emit AgentReputation.X402PaymentsCited(agentId, payer, 1, provider, 4e6, 4e6);
        _feedback(payer, agentId, 80);
        assertEq(reputation.feedbackWeight(agentId, payer, 1), 7e6);
        assertTrue(reputation.getPayment(1).cited);
        // A later payAgent payment alone is cited alone.
        vm.prank(payer);
        reputation.payAgent(agentId, 1e6, "");
        _feedback(payer, agentId, 80);
        assertEq(reputation.feedbackWeight(agentId, payer, 2), 1e6);
    }

    function test_giveFeedback_ignoresMoneySplitWithoutAKnownPayer() public {
        // The authorization submitted straight to the token, then split: no payer is recorded.
        Authorization memory a =
            Authorization(payer, splitter.payeeOf(provider, modelId), 5e6, 0, block.timestamp + 60, bytes32("direct"));
        Signature memory s = _signAuthorization(payerKey, address(usd), usd.name(), TRANSFER_TYPEHASH, a);
        usd.transferWithAuthorization(a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, s.v, s.r, s.s);
        splitter.split(provider, modelId);
        vm.expectRevert(abi.encodeWithSelector(AgentReputation.NoPaymentToCite.selector, agentId, payer));
        _feedback(payer, agentId, 100);
    }

    function test_giveFeedback_countsNoX402WithoutASplitter() public {
        AgentReputation paidOnly =
            new AgentReputation(usd, registry, fundingPool, REPUTATION_FEE_BPS, IX402PaymentRecord(address(0)));
        _settle(payerKey, payer, 5e6);
        assertEq(paidOnly.x402Uncited(agentId, payer), 0);
        vm.expectRevert(abi.encodeWithSelector(AgentReputation.NoPaymentToCite.selector, agentId, payer));
        vm.prank(payer);
        paidOnly.giveFeedback(agentId, 100, 0, "", "", "", "", bytes32(0));
    }

    function test_giveFeedback_citesAtMostMaxPaymentAtOnce() public {
        uint256 huge = uint256(type(uint128).max) + 5;
        usd.mint(payer, huge);
        _settle(payerKey, payer, huge);
        _feedback(payer, agentId, 100);
        assertEq(reputation.feedbackWeight(agentId, payer, 1), reputation.MAX_PAYMENT());
        assertEq(reputation.x402Uncited(agentId, payer), 5, "the rest stays open");
        _feedback(payer, agentId, 0);
        assertEq(reputation.feedbackWeight(agentId, payer, 2), 5);
        (, int128 value,, uint256 totalWeight) = reputation.getPaidSummary(agentId, new address[](0), "", "");
        assertEq(totalWeight, huge);
        assertEq(uint256(int256(value)), 99, "100 weighted by 2**128 - 1 against 0 by 5, rounded toward zero");
    }

    /// @notice Whatever the amounts, each feedback weighs exactly what was paid since the last one.
    function testFuzz_giveFeedback_weighsExactlyWhatWasPaidSinceTheLastFeedback(uint256[3] memory amounts, uint256 paid)
        public
    {
        paid = bound(paid, 0, 1_000e6);
        uint256 total;
        for (uint256 i; i < 3; ++i) {
            uint256 amount = bound(amounts[i], 1, 100_000e6);
            total += amount;
            _settle(payerKey, payer, amount);
            if (paid != 0) {
                vm.prank(payer);
                reputation.payAgent(agentId, paid, "");
            }
            _feedback(payer, agentId, int128(int256(i)));
            assertEq(reputation.feedbackWeight(agentId, payer, uint64(i + 1)), amount + paid);
            vm.expectRevert(abi.encodeWithSelector(AgentReputation.NoPaymentToCite.selector, agentId, payer));
            _feedback(payer, agentId, 0);
        }
        assertEq(reputation.x402Cited(payer, provider), total);
        assertEq(splitter.paidBy(payer, provider), total);
        (uint64 count,,, uint256 totalWeight) = reputation.getPaidSummary(agentId, new address[](0), "", "");
        assertEq(count, 3);
        assertEq(totalWeight, total + 3 * paid);
    }
}
