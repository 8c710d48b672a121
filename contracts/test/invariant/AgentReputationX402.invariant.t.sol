// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {InvariantTest} from "./InvariantTest.sol";
import {TestToken} from "../../src/TestToken.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {PaymentChannels} from "../../src/PaymentChannels.sol";
import {AgentRegistry} from "../../src/AgentRegistry.sol";
import {AgentReputation, IX402PaymentRecord} from "../../src/AgentReputation.sol";
import {X402Splitter, IPaymentTerms} from "../../src/X402Splitter.sol";
import {AgentReputationX402Handler} from "./handlers/AgentReputationX402Handler.sol";

/// @notice Whatever payers, reviewers and agents' owners do, AgentReputation cites of a reviewer's
///         x402 payments to a wallet exactly what X402Splitter's `settle` recorded it paid, each
///         base unit once, never more than `MAX_PAYMENT` in one feedback; and the splitter records
///         exactly the settles that succeeded and keeps nothing but the fees it owes.
/// @dev Each handler call runs as its own transaction (`isolate`), as it would on a chain. The run
///      is kept small for CI (about a minute with the rest of the suite's overhead); a longer hunt is
///      Forge's own `FOUNDRY_INVARIANT_RUNS` / `FOUNDRY_INVARIANT_DEPTH`.
/// forge-config: default.isolate = true
/// forge-config: default.invariant.runs = 48
/// forge-config: default.invariant.depth = 100
contract AgentReputationX402InvariantTest is InvariantTest {
    uint16 internal constant PROTOCOL_FEE_BPS = 250;
    uint16 internal constant REPUTATION_FEE_BPS = 200;
    uint256 internal constant MAX_PAYMENT = type(uint128).max;

    TestToken internal usd;
    AgentRegistry internal registry;
    AgentReputation internal reputation;
    X402Splitter internal splitter;
    AgentReputationX402Handler internal handler;
    address internal creator;
    address internal steward;

    function setUp() public {
        TestToken stakeToken;
        ModelRegistry models;
        ProviderRegistry providers;
        (usd, stakeToken, models, providers) = _deployRegistries();
        PaymentChannels channels =
            new PaymentChannels(usd, models, providers, makeAddr("fundingPool"), PROTOCOL_FEE_BPS, 1 hours);
        splitter = new X402Splitter(IPaymentTerms(address(channels)));
        registry = new AgentRegistry();
        steward = makeAddr("steward");
        reputation =
            new AgentReputation(usd, registry, steward, REPUTATION_FEE_BPS, IX402PaymentRecord(address(splitter)));

        creator = makeAddr("creator");
        uint256[] memory modelIds = new uint256[](2);
        uint16[] memory royalties = new uint16[](2);
        (royalties[0], royalties[1]) = (1000, 0);
        vm.startPrank(creator);
        modelIds[0] = models.register("model-a", keccak256("weights a"), bytes32(0), "", royalties[0]);
        modelIds[1] = models.register("model-b", keccak256("weights b"), bytes32(0), "", royalties[1]);
        vm.stopPrank();

        handler =
            new AgentReputationX402Handler(reputation, splitter, registry, usd, creator, modelIds, royalties, steward);
        bytes4[] memory selectors = new bytes4[](10);
        // Settles and feedback get two entries each: they are what the invariants are about.
        selectors[0] = AgentReputationX402Handler.settle.selector;
        selectors[1] = AgentReputationX402Handler.settle.selector;
        selectors[2] = AgentReputationX402Handler.giveFeedback.selector;
        selectors[3] = AgentReputationX402Handler.giveFeedback.selector;
        selectors[4] = AgentReputationX402Handler.payAgent.selector;
        selectors[5] = AgentReputationX402Handler.giveFeedbackForPayment.selector;
        selectors[6] = AgentReputationX402Handler.revokeFeedback.selector;
        selectors[7] = AgentReputationX402Handler.setAgentWallet.selector;
        selectors[8] = AgentReputationX402Handler.withdrawFees.selector;
        selectors[9] = AgentReputationX402Handler.settle.selector;
        _targetHandler(address(handler), selectors);
    }

    /// @notice 1. What a reviewer has cited of its x402 payments to a wallet never passes what the
    ///         splitter says it paid that wallet; what stays open is the difference, for every agent
    ///         whose wallet it is.
    function invariant_citedNeverExceedsPaid() public view {
        for (uint256 p; p < handler.PAYERS(); ++p) {
            address reviewer = handler.payers(p);
            for (uint256 w; w < handler.WALLETS(); ++w) {
                address wallet = handler.wallets(w);
                assertLe(reputation.x402Cited(reviewer, wallet), splitter.paidBy(reviewer, wallet), "cited <= paidBy");
            }
            for (uint256 a; a < handler.AGENTS(); ++a) {
                address wallet = handler.modelWallet(a);
                uint256 open = wallet == address(0)
                    ? 0
                    : splitter.paidBy(reviewer, wallet) - reputation.x402Cited(reviewer, wallet);
                assertEq(reputation.x402Uncited(handler.agentIds(a), reviewer), open, "uncited = paidBy - cited");
            }
        }
    }

    /// @notice 2. Each x402 unit is cited at most once: the x402 parts of all feedback (every agent
    ///         sharing the wallet) sum to the contract's cited counter, which only grows.
    function invariant_eachX402UnitCitedOnce() public view {
        uint256 n = handler.recordCount();
        for (uint256 p; p < handler.PAYERS(); ++p) {
            for (uint256 w; w < handler.WALLETS(); ++w) {
                address reviewer = handler.payers(p);
                address wallet = handler.wallets(w);
                uint256 sum;
                for (uint256 i; i < n; ++i) {
                    AgentReputationX402Handler.Record memory r = handler.record(i);
                    if (r.payerIndex == p && r.wallet == wallet) sum += r.x402Part;
                }
                uint256 cited = reputation.x402Cited(reviewer, wallet);
                assertEq(sum, cited, "sum of feedbacks' x402 parts == cited counter");
                assertEq(handler.ghostCited(reviewer, wallet), cited, "ghost cited == cited counter");
                assertLe(sum, handler.ghostPaid(reviewer, wallet), "cited <= settled");
            }
        }
        assertEq(handler.ghostShrinks(), 0, "cited and paidBy only grow");
    }

    /// @notice 3. No feedback cites more than `MAX_PAYMENT` of x402; each weighs its `payAgent`
    ///         payments plus its x402 part, and stays so; each agent's total weight is that of its
    ///         feedback not revoked.
    function invariant_feedbackX402PartWithinCap() public view {
        uint256 n = handler.recordCount();
        uint256[] memory totals = new uint256[](handler.AGENTS());
        for (uint256 i; i < n; ++i) {
            AgentReputationX402Handler.Record memory r = handler.record(i);
            uint256 agentId = handler.agentIds(r.agentIndex);
            address reviewer = handler.payers(r.payerIndex);
            assertLe(r.x402Part, MAX_PAYMENT, "a feedback cites at most MAX_PAYMENT of x402");
            assertEq(r.weight, r.payAgentPart + r.x402Part, "weight = payAgent part + x402 part");
            assertEq(reputation.feedbackWeight(agentId, reviewer, r.index), r.weight, "weight unchanged");
            (,,,, bool isRevoked) = reputation.readFeedback(agentId, reviewer, r.index);
            assertEq(isRevoked, r.revoked, "revoked as the handler revoked it");
            if (!r.revoked) totals[r.agentIndex] += r.weight;
        }
        assertLe(handler.ghostMaxX402Part(), MAX_PAYMENT, "largest x402 part seen");
        for (uint256 a; a < handler.AGENTS(); ++a) {
            (,,, uint256 totalWeight) = reputation.getPaidSummary(handler.agentIds(a), new address[](0), "", "");
            assertEq(totalWeight, totals[a], "summary weight = feedback not revoked");
        }
        for (uint256 i; i < handler.paymentCount(); ++i) {
            AgentReputationX402Handler.PaymentModel memory m = handler.paymentModel(i);
            AgentReputation.Payment memory pay = reputation.getPayment(i + 1);
            assertEq(pay.amount, m.amount, "payment amount");
            assertEq(pay.cited, m.cited, "payment cited as the model says");
        }
    }

    /// @notice 4. `paidBy` is exactly the sum of the settles that succeeded, per payer and provider;
    ///         the splitter holds exactly the fees it owes the funding pool and the payees nothing;
    ///         every share went where the split says, to the base unit.
    function invariant_splitterAccountsExactly() public view {
        for (uint256 p; p < handler.PAYERS(); ++p) {
            for (uint256 w; w < handler.WALLETS(); ++w) {
                address payer = handler.payers(p);
                address provider = handler.wallets(w);
                assertEq(splitter.paidBy(payer, provider), handler.ghostPaid(payer, provider), "paidBy == settled");
            }
        }
        address fundingPool = handler.fundingPool();
        uint256 owed = handler.ghostFees() - handler.ghostWithdrawn();
        assertEq(splitter.earnings(fundingPool), owed, "fees owed");
        assertEq(usd.balanceOf(address(splitter)), owed, "splitter holds exactly the fees it owes");
        assertEq(usd.balanceOf(fundingPool), handler.ghostWithdrawn(), "withdrawn fees");
        for (uint256 i; i < handler.payeeCount(); ++i) {
            assertEq(usd.balanceOf(handler.payee(i)), 0, "a payee keeps nothing");
        }
        assertEq(usd.balanceOf(creator), handler.ghostRoyalties(), "royalties");
        assertEq(usd.balanceOf(steward), handler.ghostReputationFees(), "payAgent fees");
        // Wallets 0-2 are providers that never pay: they hold their shares and their agents' pay.
        for (uint256 w; w < handler.WALLETS() - 1; ++w) {
            address provider = handler.wallets(w);
            assertEq(
                usd.balanceOf(provider),
                handler.ghostProviderShares(provider) + handler.ghostPayAgentNet(provider),
                "provider's shares + payAgent pay"
            );
        }
    }

    /// @notice The contracts accepted exactly what the handler's model allows, with the weights it predicts.
    function invariant_modelAgrees() public view {
        assertEq(handler.ghostMismatches(), 0, handler.lastMismatch());
    }
}
