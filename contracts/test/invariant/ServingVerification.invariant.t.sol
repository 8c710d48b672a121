// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {VerificationFixture} from "../utils/VerificationFixture.sol";
import {ServingVerification} from "../../src/ServingVerification.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {ServingVerificationHandler} from "./handlers/ServingVerificationHandler.sol";

/// @notice Invariants of slashing (ServingVerification with ProviderRegistry, deployed and wired
///         as VerificationFixture deploys them) under random sequences of every validator,
///         provider, reporter and voter action: tokens are conserved to the base unit, nobody is
///         slashed without a fraud quorum, no case is decided twice, and a suspended provider's
///         offers are never usable. The run's size is foundry.toml's `[invariant]` (CI); a longer
///         hunt is Forge's own `FOUNDRY_INVARIANT_RUNS` / `FOUNDRY_INVARIANT_DEPTH`.
contract ServingVerificationInvariantTest is VerificationFixture {
    ServingVerificationHandler internal handler;

    function setUp() public override {
        super.setUp();
        (address provider3, uint256 provider3Key) = makeAddrAndKey("provider3");
        _registerProvider(provider3, PROVIDER_STAKE, modelId);

        address[] memory providerList = new address[](3);
        uint256[] memory providerKeys = new uint256[](3);
        (providerList[0], providerKeys[0]) = (provider, providerKey);
        (providerList[1], providerKeys[1]) = (provider2, provider2Key);
        (providerList[2], providerKeys[2]) = (provider3, provider3Key);
        // The fixture's five validators, and two accounts that may register during the run.
        address[] memory validatorList = new address[](VALIDATOR_COUNT + 2);
        for (uint256 i; i < VALIDATOR_COUNT; ++i) {
            validatorList[i] = validatorAccounts[i];
        }
        validatorList[VALIDATOR_COUNT] = makeAddr("validator5");
        validatorList[VALIDATOR_COUNT + 1] = makeAddr("validator6");
        address[] memory reporterList = new address[](2);
        reporterList[0] = reporter;
        reporterList[1] = stranger;

        handler = new ServingVerificationHandler(
            sv, qf, modelId, providerList, providerKeys, validatorList, reporterList, START_TIME
        );

        bytes4[] memory selectors = new bytes4[](23);
        selectors[0] = ServingVerificationHandler.registerValidator.selector;
        selectors[1] = ServingVerificationHandler.addValidatorStake.selector;
        selectors[2] = ServingVerificationHandler.requestValidatorUnstake.selector;
        selectors[3] = ServingVerificationHandler.withdrawValidatorStake.selector;
        selectors[4] = ServingVerificationHandler.addProviderStake.selector;
        selectors[5] = ServingVerificationHandler.requestProviderUnstake.selector;
        selectors[6] = ServingVerificationHandler.withdrawProviderStake.selector;
        selectors[7] = ServingVerificationHandler.report.selector;
        selectors[8] = ServingVerificationHandler.reportReplay.selector;
        selectors[9] = ServingVerificationHandler.commitVote.selector;
        selectors[10] = ServingVerificationHandler.revealVote.selector;
        selectors[11] = ServingVerificationHandler.finalize.selector;
        selectors[12] = ServingVerificationHandler.withdrawEarnings.selector;
        selectors[13] = ServingVerificationHandler.collectFunding.selector;
        selectors[14] = ServingVerificationHandler.openChannelToSuspended.selector;
        selectors[15] = ServingVerificationHandler.warp.selector;
        // A case takes three commits and three reveals: they get four entries each (and finalize
        // two), so cases reach every kind of verdict rather than mostly expiring.
        selectors[16] = ServingVerificationHandler.commitVote.selector;
        selectors[17] = ServingVerificationHandler.revealVote.selector;
        selectors[18] = ServingVerificationHandler.commitVote.selector;
        selectors[19] = ServingVerificationHandler.revealVote.selector;
        selectors[20] = ServingVerificationHandler.commitVote.selector;
        selectors[21] = ServingVerificationHandler.revealVote.selector;
        selectors[22] = ServingVerificationHandler.finalize.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    // ------------------------------------------------------------ helpers

    /// @dev Every account the verifier can owe earnings to.
    function _earners() internal view returns (address[] memory all) {
        address[] memory p = handler.providerAccounts();
        address[] memory v = handler.validatorAccounts();
        address[] memory r = handler.reporterAccounts();
        all = new address[](p.length + v.length + r.length + 1);
        uint256 n;
        for (uint256 i; i < p.length; ++i) {
            all[n++] = p[i];
        }
        for (uint256 i; i < v.length; ++i) {
            all[n++] = v[i];
        }
        for (uint256 i; i < r.length; ++i) {
            all[n++] = r[i];
        }
        all[n] = address(qf);
    }

    function _unwithdrawnEarnings() internal view returns (uint256 sum) {
        address[] memory all = _earners();
        for (uint256 i; i < all.length; ++i) {
            sum += sv.earnings(all[i]);
        }
    }

    // ------------------------------------------------------------ invariants

    /// @notice Tokens in (stakes and bonds) == tokens held by the two contracts + tokens paid out
    ///         (stake withdrawn, earnings withdrawn, the funding pool's collections), and each
    ///         contract holds exactly its ledgers: the registry every provider's stake and
    ///         unstaking, the verifier every validator's, every unwithdrawn earning and the bonds of
    ///         open cases. Every verdict credited exactly slash + bond + penalties.
    function invariant_tokensConserved() public view {
        uint256 heldBySv = usd.balanceOf(address(sv));
        uint256 heldByRegistry = usd.balanceOf(address(providers));
        assertEq(
            handler.ghostIn(),
            heldBySv + heldByRegistry + handler.ghostProviderWithdrawn() + handler.ghostValidatorWithdrawn()
                + handler.ghostEarningsWithdrawn() + handler.ghostFundingCollected(),
            "in == held + paid out"
        );

        uint256 providerLedger;
        address[] memory p = handler.providerAccounts();
        for (uint256 i; i < p.length; ++i) {
            ProviderRegistry.Provider memory r = providers.getProvider(p[i]);
            providerLedger += r.stake + r.unstaking;
        }
        assertEq(heldByRegistry, providerLedger, "registry holds sum(stake + unstaking)");

        uint256 validatorLedger;
        address[] memory v = handler.validatorAccounts();
        for (uint256 i; i < v.length; ++i) {
            ServingVerification.Validator memory r = sv.getValidator(v[i]);
            validatorLedger += r.stake + r.unstaking;
        }
        uint256 unwithdrawn = _unwithdrawnEarnings();
        assertEq(
            heldBySv,
            validatorLedger + unwithdrawn + handler.ghostOpenBonds(),
            "verifier holds stakes + earnings + open bonds"
        );

        uint256 credited = handler.ghostToReporters() + handler.ghostToValidators() + handler.ghostToProviders()
            + handler.ghostToFunding();
        assertEq(
            credited,
            handler.ghostSlashed() + handler.ghostBondsDecided() + handler.ghostPenalties(),
            "verdicts credited slash + bond + penalties"
        );
        assertEq(
            credited,
            unwithdrawn + handler.ghostEarningsWithdrawn() + handler.ghostFundingCollected(),
            "credited == owed + paid"
        );
        assertEq(handler.ghostBonds(), handler.ghostBondsDecided() + handler.ghostOpenBonds(), "bonds decided or held");
        assertEq(providers.totalSlashed(), handler.ghostSlashed(), "registry's total slashed");
    }

    /// @notice Stake is slashed only by a fraud verdict of two revealed fraud votes, and every
    ///         verdict paid exactly the shares the terms give (validators penalised only against
    ///         the quorum or silent).
    function invariant_noSlashWithoutFraudQuorum() public view {
        assertEq(handler.ghostSlashWithoutQuorum(), 0, "no slash without a fraud quorum");
        assertEq(handler.ghostWrongOutcomes(), 0, "outcome follows the revealed votes");
        assertEq(handler.ghostSplitMismatches(), 0, "every share exact");
        assertEq(handler.ghostPenaltyMismatches(), 0, "penalties only against the quorum or silent");
        address[] memory p = handler.providerAccounts();
        for (uint256 i; i < p.length; ++i) {
            uint256 slashed = handler.ghostSlashedOf(p[i]);
            assertEq(providers.getProvider(p[i]).slashed, slashed, "registry's slashed == fraud verdicts' slashes");
            (, uint64 failed, uint256 recorded,) = sv.providerRecord(p[i]);
            assertEq(recorded, slashed, "record's slashed amount");
            assertEq(failed, handler.ghostFraudVerdictsOf(p[i]), "challenges failed == fraud verdicts");
        }
    }

    /// @notice A case is decided once and its verdict never changes; votes and replays after it
    ///         are refused, and no case is decided before it is decidable. Votes count only in
    ///         their phase (no reveal before every drawn validator committed or the commit phase
    ///         ended, so nobody can copy a revealed vote) and only as committed.
    function invariant_oneVerdictPerCase() public view {
        bytes32[] memory ids = handler.caseIds();
        for (uint256 i; i < ids.length; ++i) {
            assertEq(sv.getCase(ids[i]).outcome, handler.ghostOutcomeOf(ids[i]), "verdict as first decided");
        }
        assertEq(handler.ghostDoubleFinalizations(), 0, "no case finalized twice");
        assertEq(handler.ghostVotesAfterVerdict(), 0, "no vote after the verdict");
        assertEq(handler.ghostReplaysAccepted(), 0, "old evidence never makes a second case");
        assertEq(handler.ghostEarlyFinalizations(), 0, "no verdict before decidable");
        assertEq(handler.ghostBadRevealsAccepted(), 0, "a reveal must match its commitment");
        assertEq(handler.ghostVotesOutOfPhase(), 0, "commit and reveal only in their phases");
    }

    /// @notice A provider is suspended exactly when a fraud verdict hit it, and then nothing of it
    ///         routes: not active, no offer usable, no channel opens to it.
    function invariant_suspendedProviderNotRouted() public view {
        address[] memory p = handler.providerAccounts();
        for (uint256 i; i < p.length; ++i) {
            bool suspended = providers.getProvider(p[i]).suspended;
            assertEq(suspended, handler.ghostFraudVerdictsOf(p[i]) > 0, "suspended iff a fraud verdict");
            (,,, bool recorded) = sv.providerRecord(p[i]);
            assertEq(recorded, suspended, "record's suspended");
            if (!suspended) continue;
            assertFalse(providers.isActive(p[i]), "suspended is not active");
            ProviderRegistry.Offer[] memory offers = providers.getOffers(p[i]);
            for (uint256 o; o < offers.length; ++o) {
                assertFalse(providers.hasOffer(p[i], offers[o].modelId), "no offer of a suspended provider is usable");
            }
            assertFalse(providers.hasOffer(p[i], modelId), "not even the one it registered");
        }
        assertEq(handler.ghostSuspendedChannelsOpened(), 0, "no channel opens to a suspended provider");
    }

    /// @notice Stake answers for open cases: the registry's and the verifier's open-case counters
    ///         match the cases, nothing was withdrawn early or while frozen, the drawn set is the
    ///         validators staked at least the minimum, and every refusal carried its documented error.
    function invariant_stakeHeldWhileCasesOpen() public view {
        address[] memory p = handler.providerAccounts();
        for (uint256 i; i < p.length; ++i) {
            assertEq(providers.getProvider(p[i]).openCases, handler.ghostOpenCasesOf(p[i]), "provider's open cases");
        }
        address[] memory v = handler.validatorAccounts();
        for (uint256 i; i < v.length; ++i) {
            ServingVerification.Validator memory r = sv.getValidator(v[i]);
            assertEq(r.openCases, handler.ghostValidatorOpenCasesOf(v[i]), "validator's open cases");
            assertEq(
                sv.isValidator(v[i]),
                r.registered && r.stake >= sv.minValidatorStake(),
                "drawn set == staked validators"
            );
        }
        assertEq(handler.ghostEarlyWithdrawals(), 0, "no stake withdrawn early or while frozen");
        assertEq(handler.ghostUnexpectedErrors(), 0, "refused with the documented error");
    }
}
