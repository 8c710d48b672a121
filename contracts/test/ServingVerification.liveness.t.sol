// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {VerificationFixture} from "./utils/VerificationFixture.sol";
import {ServingVerification} from "../src/ServingVerification.sol";

/// @notice Sequences the invariant suites found that must not leave a case undecidable: once its
///         reveal phase is over every case can be finalized, whatever the accounts around it did
///         before, so no bond, provider stake or validator stake stays frozen for good.
contract ServingVerificationLivenessTest is VerificationFixture {
    /// @dev A staked validator fills a provider's `challengesPassed` to the top with one
    ///      attestation; an honest verdict on that provider must still be reachable (it once
    ///      overflowed the counter and reverted, freezing the bond, the provider's stake and the
    ///      three drawn validators' stakes for good).
    function test_finalize_honest_afterPassesAttestedToTheTop() public {
        address griefer = validatorAccounts[0];
        vm.prank(griefer);
        sv.attestPasses(provider, type(uint64).max);
        (uint64 passed,,,) = sv.providerRecord(provider);
        assertEq(passed, type(uint64).max, "passes at the top");

        bytes32 caseId = _report();
        _vote(caseId, [false, false, false]);
        sv.finalize(caseId);

        ServingVerification.Case memory c = sv.getCase(caseId);
        assertEq(c.outcome, sv.OUTCOME_HONEST(), "honest verdict reached");
        assertEq(providers.getProvider(provider).openCases, 0, "provider's stake released");
        address[3] memory drawn = c.validators;
        for (uint256 i; i < 3; ++i) {
            assertEq(sv.getValidator(drawn[i]).openCases, 0, "drawn validator's stake released");
        }
        (passed,,,) = sv.providerRecord(provider);
        assertEq(passed, type(uint64).max, "the count saturates");
        // The bond: half to the provider (5_000 bps of 10e6), the rest split by the three.
        assertEq(sv.earnings(provider), 5e6, "provider paid its half of the bond");
        _assertNothingStranded();
    }

    /// @dev A validator stakes more than 2^256 / validatorPenaltyBps (a token anyone can mint, as
    ///      on a devnet) and stays silent: its penalty must not overflow, or every case it is drawn
    ///      in could never be decided (the provider's and the other validators' stake frozen).
    function test_finalize_afterRevealDeadline_withSilentValidatorOfEnormousStake() public {
        address whale = makeAddr("whale");
        uint256 stake = type(uint256).max / 100;
        _registerValidator(whale, stake);
        bytes32 caseId = _caseDrawing(whale);
        address[3] memory drawn = _drawn(caseId);
        // The two others vote fraud; the whale says nothing.
        for (uint256 i; i < 3; ++i) {
            if (drawn[i] != whale) _commit(caseId, drawn[i], true);
        }
        vm.warp(block.timestamp + COMMIT_PERIOD);
        for (uint256 i; i < 3; ++i) {
            if (drawn[i] != whale) _reveal(caseId, drawn[i], true);
        }
        vm.warp(block.timestamp + REVEAL_PERIOD);
        sv.finalize(caseId);

        assertEq(sv.getCase(caseId).outcome, sv.OUTCOME_FRAUD(), "fraud verdict reached");
        // 10% of its stake, exactly: floor(stake / 10), as stake * 1_000 / 10_000 would be without overflow.
        assertEq(sv.getValidator(whale).stake, stake - stake / 10, "the whale lost 10% of its stake");
        (,, uint64 missed,) = sv.validatorRecord(whale);
        assertEq(missed, 1, "recorded as missed");
        _assertNothingStranded();
    }

    /// @dev A provider with a stake near the top of uint256 is found cheating: the slash and its
    ///      shares must not overflow, or it would never be slashed nor suspended.
    function test_finalize_fraud_slashesEnormousStake() public {
        (address whale, uint256 whaleKey) = makeAddrAndKey("whaleProvider");
        uint256 stake = type(uint256).max / 100;
        _registerProvider(whale, stake, modelId);
        bytes32 caseId = _reportAs(reporter, whale, whaleKey);
        _vote(caseId, [true, true, true]);
        sv.finalize(caseId);

        assertEq(providers.getProvider(whale).slashed, stake, "all of it slashed");
        assertTrue(providers.getProvider(whale).suspended, "suspended");
        // 20% to the reporter besides its bond, as stake * 2_000 / 10_000 would be without overflow.
        assertEq(sv.earnings(reporter), REPORT_BOND + stake / 5, "reporter's bond and share");
        _assertNothingStranded();
    }

    /// @dev Reports fresh receipts of `provider` until a case draws `validator` (the draw is seeded).
    function _caseDrawing(address validator) internal returns (bytes32 caseId) {
        for (uint256 seed; seed < 64; ++seed) {
            vm.prevrandao(seed);
            caseId = _report();
            address[3] memory drawn = _drawn(caseId);
            if (drawn[0] == validator || drawn[1] == validator || drawn[2] == validator) return caseId;
        }
        revert("never drawn");
    }
}
