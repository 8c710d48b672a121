// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {VerificationFixture} from "./utils/VerificationFixture.sol";
import {ServingVerification} from "../src/ServingVerification.sol";
import {ProviderRegistry} from "../src/ProviderRegistry.sol";

/// @notice ServingVerification with the default terms (all of the stake slashed on fraud): validator
///         staking, reports, the draw, commit-reveal, verdicts and their money, reputation, and the
///         provider registry's side (freeze, slash, suspend). Amounts are asserted to the base unit
///         from hand-worked figures (see each test's comment), not from the contract's own formulas.
contract ServingVerificationTest is VerificationFixture {
    // Figures shared by the verdict tests (PROVIDER_STAKE 150_000_007, VALIDATOR_STAKE 60_000_010):
    /// @dev A validator's penalty: 10% of 60_000_010.
    uint256 internal constant PENALTY = 6_000_001;
    /// @dev Reporter's share of a full slash: 20% of 150_000_007, floored.
    uint256 internal constant TO_REPORTER = 30_000_001;
    /// @dev Validators' share of a full slash: 30% of 150_000_007, floored.
    uint256 internal constant TO_VALIDATORS = 45_000_002;
    /// @dev The rest of a full slash: 150_000_007 - 30_000_001 - 45_000_002.
    uint256 internal constant TO_FUNDING = 75_000_004;

    // ------------------------------------------------------------ validators

    function test_registerValidator_pullsStakeAndActivates() public {
        address v = validatorAccounts[0];
        assertTrue(sv.isValidator(v), "registered validator is active");
        assertEq(sv.validators().length, VALIDATOR_COUNT, "all validators listed");
        assertEq(usd.balanceOf(v), 0, "stake pulled");
        assertEq(usd.balanceOf(address(sv)), 300_000_050, "5 x 60_000_010 held");
        ServingVerification.Validator memory reg = sv.getValidator(v);
        assertTrue(reg.registered, "registered");
        assertEq(reg.stake, 60_000_010, "stake");
        (uint64 agreed, uint64 disagreed, uint64 missed, uint256 stake) = sv.validatorRecord(v);
        assertEq(agreed + disagreed + missed, 0, "no record yet");
        assertEq(stake, 60_000_010, "record stake");
        _assertNothingStranded();
    }

    function test_registerValidator_refusesBelowMinimumAndTwice() public {
        address v = makeAddr("newValidator");
        usd.mint(v, 100e6);
        vm.startPrank(v);
        usd.approve(address(sv), 100e6);
        vm.expectRevert(
            abi.encodeWithSelector(ServingVerification.StakeBelowMinimum.selector, 49_999_999, MIN_VALIDATOR_STAKE)
        );
        sv.registerValidator(49_999_999);
        sv.registerValidator(50_000_000);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.ValidatorAlreadyRegistered.selector, v));
        sv.registerValidator(50_000_000);
        vm.stopPrank();
        assertEq(usd.balanceOf(v), 50_000_000, "only the first stake pulled");
    }

    function test_addValidatorStake() public {
        address v = validatorAccounts[1];
        usd.mint(v, 1);
        vm.startPrank(v);
        usd.approve(address(sv), 1);
        sv.addValidatorStake(1);
        vm.expectRevert(ServingVerification.ZeroAmount.selector);
        sv.addValidatorStake(0);
        vm.stopPrank();
        assertEq(sv.getValidator(v).stake, 60_000_011, "stake + 1");
        assertEq(usd.balanceOf(address(sv)), 300_000_051, "held + 1");

        vm.expectRevert(abi.encodeWithSelector(ServingVerification.ValidatorNotRegistered.selector, stranger));
        vm.prank(stranger);
        sv.addValidatorStake(1);
        _assertNothingStranded();
    }

    function test_validatorUnstake_delayThenWithdraw() public {
        address v = validatorAccounts[2];
        vm.startPrank(v);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.InsufficientStake.selector, 60_000_010, 60_000_011));
        sv.requestValidatorUnstake(60_000_011);
        vm.expectRevert(ServingVerification.ZeroAmount.selector);
        sv.requestValidatorUnstake(0);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.NothingToWithdraw.selector, v));
        sv.withdrawValidatorStake();

        sv.requestValidatorUnstake(20_000_000);
        vm.stopPrank();
        ServingVerification.Validator memory reg = sv.getValidator(v);
        assertEq(reg.stake, 40_000_010, "stake left");
        assertEq(reg.unstaking, 20_000_000, "unstaking");
        uint64 readyAt = uint64(START_TIME) + VALIDATOR_UNSTAKE_DELAY;
        assertEq(reg.unstakeReadyAt, readyAt, "ready after the delay");
        assertFalse(sv.isValidator(v), "below the minimum: no longer drawn");
        assertEq(sv.validators().length, VALIDATOR_COUNT - 1, "dropped from the set");

        vm.warp(readyAt - 1);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.UnstakeNotReady.selector, readyAt, readyAt - 1));
        vm.prank(v);
        sv.withdrawValidatorStake();

        vm.warp(readyAt);
        vm.prank(v);
        sv.withdrawValidatorStake();
        assertEq(usd.balanceOf(v), 20_000_000, "unstaked paid");
        assertEq(usd.balanceOf(address(sv)), 280_000_050, "held - 20_000_000");
        reg = sv.getValidator(v);
        assertEq(reg.unstaking, 0, "nothing unstaking");
        assertEq(reg.unstakeReadyAt, 0, "no pending unstake");

        // Back at the minimum, drawn again.
        usd.mint(v, 9_999_990);
        vm.startPrank(v);
        usd.approve(address(sv), 9_999_990);
        sv.addValidatorStake(9_999_990);
        vm.stopPrank();
        assertEq(sv.getValidator(v).stake, 50_000_000, "at the minimum");
        assertTrue(sv.isValidator(v), "active again");
        _assertNothingStranded();
    }

    function test_validatorInOpenCase_cannotWithdraw() public {
        // Every validator starts unbonding 10_000_000 (each stays above the minimum, so drawable).
        for (uint256 i; i < VALIDATOR_COUNT; ++i) {
            vm.prank(validatorAccounts[i]);
            sv.requestValidatorUnstake(10_000_000);
        }
        vm.warp(START_TIME + VALIDATOR_UNSTAKE_DELAY);
        bytes32 caseId = _report();
        address[3] memory drawn = _drawn(caseId);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.ValidatorFrozen.selector, drawn[0], uint32(1)));
        vm.prank(drawn[0]);
        sv.withdrawValidatorStake();
        address outsider = _notDrawn(drawn);
        vm.prank(outsider);
        sv.withdrawValidatorStake();
        assertEq(usd.balanceOf(outsider), 10_000_000, "a validator not drawn withdraws");

        _vote(caseId, [true, true, true]);
        sv.finalize(caseId);
        vm.prank(drawn[0]);
        sv.withdrawValidatorStake();
        assertEq(usd.balanceOf(drawn[0]), 10_000_000, "unstaked stake paid after the verdict");
        _assertNothingStranded();
    }

    // ------------------------------------------------------------ report

    function test_report_opensCase() public {
        (ServingVerification.ReceiptData memory r, bytes memory request, bytes memory response) = _receipt();
        bytes memory signature = _signReceipt(providerKey, r);
        _fundBond(reporter);
        bytes32 expectedId = _digest(r);
        assertEq(sv.receiptDigest(r), expectedId, "receiptDigest matches the EIP-712 digest from the spec");
        address[3] memory expected = _expectedDraw(expectedId, provider, reporter);

        vm.expectEmit(address(sv));
        emit ServingVerification.CaseOpened(
            expectedId,
            provider,
            reporter,
            expected,
            weightsHash,
            uint64(START_TIME) + COMMIT_PERIOD,
            uint64(START_TIME) + COMMIT_PERIOD + REVEAL_PERIOD
        );
        vm.expectEmit(address(sv));
        emit ServingVerification.EvidenceSubmitted(expectedId, r, signature, request, response);
        vm.prank(reporter);
        bytes32 caseId = sv.report(provider, r, signature, request, response);
        caseIds.push(caseId);

        assertEq(caseId, expectedId, "case id is the receipt digest");
        assertEq(usd.balanceOf(reporter), 0, "bond pulled");
        assertEq(usd.balanceOf(address(sv)), 300_000_050 + REPORT_BOND, "bond held");
        ServingVerification.Case memory c = sv.getCase(caseId);
        assertEq(c.provider, provider, "provider");
        assertEq(c.reporter, reporter, "reporter");
        assertEq(c.bond, REPORT_BOND, "bond");
        assertEq(c.outcome, 0, "open");
        assertEq(c.commitDeadline, uint64(START_TIME) + COMMIT_PERIOD, "commit deadline");
        assertEq(c.revealDeadline, uint64(START_TIME) + COMMIT_PERIOD + REVEAL_PERIOD, "reveal deadline");
        for (uint256 i; i < 3; ++i) {
            assertEq(c.validators[i], expected[i], "drawn as the seed says");
            assertEq(sv.getValidator(c.validators[i]).openCases, 1, "drawn validator holds the case");
        }
        assertEq(providers.getProvider(provider).openCases, 1, "provider frozen");
        _assertNothingStranded();
    }

    function test_report_refusesTamperedReceipt() public {
        (ServingVerification.ReceiptData memory r, bytes memory request, bytes memory response) = _receipt();
        bytes memory signature = _signReceipt(providerKey, r);
        r.outputTokens += 1; // the provider never signed this count
        address recovered = ECDSA.recover(_digest(r), signature);
        _fundBond(reporter);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.InvalidSignature.selector, provider, recovered));
        vm.prank(reporter);
        sv.report(provider, r, signature, request, response);
    }

    function test_report_refusesMalformedSignature() public {
        (ServingVerification.ReceiptData memory r, bytes memory request, bytes memory response) = _receipt();
        _fundBond(reporter);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.InvalidSignature.selector, provider, address(0)));
        vm.prank(reporter);
        sv.report(provider, r, hex"0102", request, response);
    }

    function test_report_refusesReceiptOfAnotherProvider() public {
        (ServingVerification.ReceiptData memory r, bytes memory request, bytes memory response) = _receipt();
        bytes memory signature = _signReceipt(provider2Key, r);
        _fundBond(reporter);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.InvalidSignature.selector, provider, provider2));
        vm.prank(reporter);
        sv.report(provider, r, signature, request, response);
    }

    function test_report_refusesPlaintextThatDoesNotHash() public {
        (ServingVerification.ReceiptData memory r, bytes memory request, bytes memory response) = _receipt();
        bytes memory signature = _signReceipt(providerKey, r);
        _fundBond(reporter);
        vm.startPrank(reporter);
        vm.expectRevert(
            abi.encodeWithSelector(ServingVerification.RequestHashMismatch.selector, r.requestHash, sha256("other"))
        );
        sv.report(provider, r, signature, "other", response);
        vm.expectRevert(
            abi.encodeWithSelector(ServingVerification.ResponseHashMismatch.selector, r.responseHash, sha256("other"))
        );
        sv.report(provider, r, signature, request, "other");
        vm.stopPrank();
        assertEq(usd.balanceOf(reporter), REPORT_BOND, "no bond taken");
    }

    function test_report_refusesDuplicate() public {
        (ServingVerification.ReceiptData memory r, bytes memory request, bytes memory response) = _receipt();
        bytes memory signature = _signReceipt(providerKey, r);
        _fundBond(reporter);
        vm.prank(reporter);
        bytes32 caseId = sv.report(provider, r, signature, request, response);
        caseIds.push(caseId);

        // Another reporter, the same evidence: refused, also after the verdict (no replay).
        _fundBond(stranger);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.CaseExists.selector, caseId));
        vm.prank(stranger);
        sv.report(provider, r, signature, request, response);

        _vote(caseId, [false, false, false]);
        sv.finalize(caseId);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.CaseExists.selector, caseId));
        vm.prank(stranger);
        sv.report(provider, r, signature, request, response);
        assertEq(usd.balanceOf(stranger), REPORT_BOND, "no bond taken");
    }

    function test_report_refusesUnregisteredProvider() public {
        (address nobody, uint256 nobodyKey) = makeAddrAndKey("nobody");
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.ProviderNotRegistered.selector, nobody));
        this.reportAs(reporter, nobody, nobodyKey);
    }

    function test_report_refusesWithoutEnoughEligibleValidators() public {
        // Provider and reporter also validate: 5 + 2 active, 5 eligible. Drop three of the five.
        _registerValidator(provider, VALIDATOR_STAKE);
        _registerValidator(reporter, VALIDATOR_STAKE);
        for (uint256 i; i < 3; ++i) {
            vm.prank(validatorAccounts[i]);
            sv.requestValidatorUnstake(VALIDATOR_STAKE);
        }
        assertEq(sv.validators().length, 4, "two plus provider and reporter");
        (ServingVerification.ReceiptData memory r, bytes memory request, bytes memory response) = _receipt();
        bytes memory signature = _signReceipt(providerKey, r);
        _fundBond(reporter);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.NotEnoughValidators.selector, 2, 3));
        vm.prank(reporter);
        sv.report(provider, r, signature, request, response);
    }

    /// @dev External so a test can expect a revert from the whole report flow.
    function reportAs(address by, address against, uint256 key) external returns (bytes32) {
        return _reportAs(by, against, key);
    }

    // ------------------------------------------------------------ draw

    /// @dev The draw replayed outside the contract: eligible = active set minus provider and
    ///      reporter in `validators()` order, then a partial Fisher-Yates seeded by prevrandao and the case.
    function _expectedDraw(bytes32 caseId, address against, address by) internal view returns (address[3] memory out) {
        address[] memory active = sv.validators();
        address[] memory eligible = new address[](active.length);
        uint256 n;
        for (uint256 i; i < active.length; ++i) {
            if (active[i] != against && active[i] != by) eligible[n++] = active[i];
        }
        bytes32 seed = keccak256(abi.encode(block.prevrandao, caseId));
        for (uint256 k; k < 3; ++k) {
            uint256 j = k + uint256(keccak256(abi.encode(seed, k))) % (n - k);
            (eligible[k], eligible[j]) = (eligible[j], eligible[k]);
            out[k] = eligible[k];
        }
    }

    function test_draw_excludesProviderAndReporter() public {
        _registerValidator(provider, VALIDATOR_STAKE);
        _registerValidator(reporter, VALIDATOR_STAKE);
        for (uint256 i; i < 2; ++i) {
            vm.prank(validatorAccounts[i]);
            sv.requestValidatorUnstake(VALIDATOR_STAKE);
        }
        // Active: validators 2, 3, 4, provider, reporter: only 2, 3, 4 may be drawn, whatever the seed.
        for (uint256 s; s < 6; ++s) {
            vm.prevrandao(uint256(keccak256(abi.encode("seed", s))));
            address[3] memory drawn = _drawn(_report());
            bool[3] memory seen;
            for (uint256 i; i < 3; ++i) {
                assertTrue(drawn[i] != provider && drawn[i] != reporter, "neither provider nor reporter drawn");
                for (uint256 k = 2; k < 5; ++k) {
                    if (drawn[i] == validatorAccounts[k]) seen[k - 2] = true;
                }
            }
            assertTrue(seen[0] && seen[1] && seen[2], "the three eligible validators drawn, each once");
        }
    }

    function test_draw_deterministicGivenSeed() public {
        vm.prevrandao(42);
        uint256 snapshot = vm.snapshotState();
        bytes32 caseId = _report();
        address[3] memory first = _drawn(caseId);
        address[3] memory expected = _expectedDraw(caseId, provider, reporter);
        vm.revertToState(snapshot);
        bytes32 again = _report();
        assertEq(again, caseId, "same receipt, same case");
        address[3] memory second = _drawn(again);
        for (uint256 i; i < 3; ++i) {
            assertEq(first[i], second[i], "same seed, same draw");
            assertEq(first[i], expected[i], "draw follows the seed");
        }
    }

    function test_draw_dependsOnSeed() public {
        // Over 8 seeds, the same receipt is not always judged by the same three seats.
        bool differs;
        address[3] memory first;
        for (uint256 s; s < 8; ++s) {
            uint256 snapshot = vm.snapshotState();
            vm.prevrandao(s + 1);
            address[3] memory drawn = _drawn(_report());
            if (s == 0) first = drawn;
            else if (drawn[0] != first[0] || drawn[1] != first[1] || drawn[2] != first[2]) differs = true;
            vm.revertToState(snapshot);
        }
        assertTrue(differs, "the draw changes with prevrandao");
    }

    function testFuzz_draw_distinctEligibleAndAsSeeded(uint256 randao) public {
        _registerValidator(provider, VALIDATOR_STAKE);
        _registerValidator(reporter, VALIDATOR_STAKE);
        vm.prevrandao(randao);
        bytes32 caseId = _report();
        address[3] memory drawn = _drawn(caseId);
        address[3] memory expected = _expectedDraw(caseId, provider, reporter);
        for (uint256 i; i < 3; ++i) {
            assertEq(drawn[i], expected[i], "as seeded");
            assertTrue(sv.isValidator(drawn[i]), "drawn validators are staked");
            assertTrue(drawn[i] != provider && drawn[i] != reporter, "not a party");
            for (uint256 k; k < i; ++k) {
                assertTrue(drawn[i] != drawn[k], "distinct");
            }
        }
    }

    // ------------------------------------------------------------ commit and reveal

    function test_reveal_beforeCommitRefused() public {
        bytes32 caseId = _report();
        address[3] memory drawn = _drawn(caseId);
        uint64 commitDeadline = sv.getCase(caseId).commitDeadline;
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.RevealNotOpen.selector, caseId, commitDeadline));
        vm.prank(drawn[0]);
        sv.revealVote(caseId, true, _salt(drawn[0], caseId));

        // Committed, but the others have not: still closed, so nobody can read a vote early.
        _commit(caseId, drawn[0], true);
        _commit(caseId, drawn[1], true);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.RevealNotOpen.selector, caseId, commitDeadline));
        vm.prank(drawn[0]);
        sv.revealVote(caseId, true, _salt(drawn[0], caseId));

        // After the commit phase, a validator that never committed has nothing to reveal.
        vm.warp(commitDeadline);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.NotCommitted.selector, caseId, drawn[2]));
        vm.prank(drawn[2]);
        sv.revealVote(caseId, true, _salt(drawn[2], caseId));
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.CommitClosed.selector, caseId, commitDeadline));
        _commit(caseId, drawn[2], true);
        _reveal(caseId, drawn[0], true);
    }

    function test_reveal_mismatchRefused() public {
        bytes32 caseId = _report();
        address[3] memory drawn = _drawn(caseId);
        for (uint256 i; i < 3; ++i) _commit(caseId, drawn[i], true);
        vm.startPrank(drawn[0]);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.CommitmentMismatch.selector, caseId, drawn[0]));
        sv.revealVote(caseId, false, _salt(drawn[0], caseId)); // the other vote
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.CommitmentMismatch.selector, caseId, drawn[0]));
        sv.revealVote(caseId, true, bytes32(uint256(1))); // the wrong salt
        sv.revealVote(caseId, true, _salt(drawn[0], caseId));
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.AlreadyRevealed.selector, caseId, drawn[0]));
        sv.revealVote(caseId, true, _salt(drawn[0], caseId));
        vm.stopPrank();
        ServingVerification.Case memory c = sv.getCase(caseId);
        assertEq(c.reveals, 1, "one reveal");
        assertEq(c.fraudMask, 1, "seat 0 voted fraud");
    }

    function test_commit_refusals() public {
        bytes32 caseId = _report();
        address[3] memory drawn = _drawn(caseId);
        address outsider = _notDrawn(drawn);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.NotDrawn.selector, caseId, outsider));
        _commit(caseId, outsider, true);
        vm.expectRevert(ServingVerification.ZeroCommitment.selector);
        vm.prank(drawn[0]);
        sv.commitVote(caseId, bytes32(0));
        _commit(caseId, drawn[0], true);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.AlreadyCommitted.selector, caseId, drawn[0]));
        _commit(caseId, drawn[0], false);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.CaseNotFound.selector, bytes32(uint256(7))));
        _commit(bytes32(uint256(7)), drawn[0], true);
        assertEq(sv.getCase(caseId).commits, 1, "one commitment");
    }

    /// @notice A validator that copies another's commitment cannot reveal it: the commitment binds
    ///         the committer's address, and votes are revealed only once every commitment is fixed.
    function test_voteCopying_impossible() public {
        bytes32 caseId = _report();
        address[3] memory drawn = _drawn(caseId);
        bytes32 salt0 = _salt(drawn[0], caseId);
        bytes32 commitment0 = _commitment(caseId, true, salt0, drawn[0]);
        vm.prank(drawn[0]);
        sv.commitVote(caseId, commitment0);
        vm.prank(drawn[1]);
        sv.commitVote(caseId, commitment0); // the copy
        _commit(caseId, drawn[2], false);
        _reveal(caseId, drawn[0], true);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.CommitmentMismatch.selector, caseId, drawn[1]));
        vm.prank(drawn[1]);
        sv.revealVote(caseId, true, salt0);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.CommitmentMismatch.selector, caseId, drawn[1]));
        vm.prank(drawn[1]);
        sv.revealVote(caseId, false, salt0);
    }

    function test_reveal_closesAtDeadline() public {
        bytes32 caseId = _report();
        address[3] memory drawn = _drawn(caseId);
        for (uint256 i; i < 3; ++i) _commit(caseId, drawn[i], true);
        uint64 revealDeadline = sv.getCase(caseId).revealDeadline;
        vm.warp(revealDeadline);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.RevealClosed.selector, caseId, revealDeadline));
        _reveal(caseId, drawn[0], true);
    }

    function _notDrawn(address[3] memory drawn) internal view returns (address) {
        for (uint256 i; i < validatorAccounts.length; ++i) {
            address v = validatorAccounts[i];
            if (v != drawn[0] && v != drawn[1] && v != drawn[2]) return v;
        }
        revert("every validator drawn");
    }

    // ------------------------------------------------------------ verdicts

    /// @notice Fraud by 2 of 3, after the provider started unstaking: the whole stake (active and
    ///         unbonding) is slashed and split to the base unit. Figures: slash 150_000_007; reporter
    ///         10_000_000 bond + 30_000_001; the dissenter loses 6_000_001, so the majority shares
    ///         45_000_002 + 6_000_001 = 51_000_003, 25_500_001 each, 1 of dust to funding; funding
    ///         75_000_004 + 1 = 75_000_005. Sum 166_000_008 = slash + bond + penalty.
    function test_finalize_fraud_slashesAndSplits() public {
        vm.prank(provider);
        providers.requestUnstake(40_000_003);
        bytes32 caseId = _report();
        address[3] memory drawn = _drawn(caseId);
        assertEq(usd.balanceOf(address(sv)), 310_000_050, "stakes + bond");
        _vote(caseId, [true, true, false]);

        vm.expectEmit(address(sv));
        emit ServingVerification.Verdict(caseId, provider, 1, 150_000_007);
        sv.finalize(caseId);

        assertEq(sv.getCase(caseId).outcome, 1, "fraud");
        ProviderRegistry.Provider memory p = providers.getProvider(provider);
        assertEq(p.stake, 0, "active stake slashed");
        assertEq(p.unstaking, 0, "unbonding stake slashed");
        assertEq(p.unstakeReadyAt, 0, "nothing left unbonding");
        assertEq(p.slashed, 150_000_007, "registry's slashed");
        assertEq(p.openCases, 0, "unfrozen");
        assertTrue(p.suspended, "suspended in the registry");
        assertEq(providers.totalSlashed(), 150_000_007, "total slashed");
        assertEq(usd.balanceOf(address(providers)), 150_000_007, "only provider2's stake left in the registry");
        assertFalse(providers.isActive(provider), "not active");

        assertEq(sv.earnings(reporter), REPORT_BOND + TO_REPORTER, "reporter: bond + 20%");
        assertEq(sv.earnings(reporter), 40_000_001, "reporter figure");
        assertEq(sv.earnings(drawn[0]), 25_500_001, "majority 0");
        assertEq(sv.earnings(drawn[1]), 25_500_001, "majority 1");
        assertEq(sv.earnings(drawn[2]), 0, "dissenter earns nothing");
        assertEq(sv.earnings(address(qf)), TO_FUNDING + 1, "funding share + dust");
        assertEq(sv.earnings(provider), 0, "provider earns nothing");
        assertEq(
            sv.earnings(reporter) + sv.earnings(drawn[0]) + sv.earnings(drawn[1]) + sv.earnings(address(qf)),
            150_000_007 + REPORT_BOND + PENALTY,
            "shares == slash + bond + penalty, exactly"
        );
        assertEq(sv.getValidator(drawn[2]).stake, VALIDATOR_STAKE - PENALTY, "dissenter penalised 10%");
        assertEq(usd.balanceOf(address(sv)), 460_000_057, "stakes + bond + slash");
        _assertNothingStranded();

        (uint64 passed, uint64 failed, uint256 slashedAmount, bool suspended) = sv.providerRecord(provider);
        assertEq(passed, 0, "passed");
        assertEq(failed, 1, "failed");
        assertEq(slashedAmount, 150_000_007, "record slashed");
        assertTrue(suspended, "record suspended");
        _assertValidatorRecord(drawn[0], 1, 0, 0, VALIDATOR_STAKE);
        _assertValidatorRecord(drawn[1], 1, 0, 0, VALIDATOR_STAKE);
        _assertValidatorRecord(drawn[2], 0, 1, 0, VALIDATOR_STAKE - PENALTY);
        for (uint256 i; i < 3; ++i) assertEq(sv.getValidator(drawn[i]).openCases, 0, "released");

        // The funding share reaches quadratic funding (the reserve: no protocol round open).
        assertEq(qf.collectProtocolFees(), 75_000_005, "collected");
        assertEq(qf.reserve(), 75_000_005, "in the protocol reserve");
        assertEq(usd.balanceOf(address(qf)), 75_000_005, "qf holds it");
        assertEq(sv.earnings(address(qf)), 0, "credited once");

        vm.prank(reporter);
        assertEq(sv.withdrawEarnings(reporter), 40_000_001, "reporter withdraws");
        assertEq(usd.balanceOf(reporter), 40_000_001, "reporter paid");
        vm.prank(drawn[0]);
        sv.withdrawEarnings(drawn[0]);
        assertEq(usd.balanceOf(drawn[0]), 25_500_001, "validator paid");
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.NothingToWithdraw.selector, drawn[2]));
        vm.prank(drawn[2]);
        sv.withdrawEarnings(drawn[2]);
        _assertNothingStranded();

        // Suspended for good: staking again does not make it active.
        usd.mint(provider, MIN_STAKE);
        vm.startPrank(provider);
        usd.approve(address(providers), MIN_STAKE);
        providers.addStake(MIN_STAKE);
        vm.stopPrank();
        assertFalse(providers.isActive(provider), "still suspended");
    }

    /// @notice Honest by 2 of 3: the bond pays the provider half (5_000_000) and the majority the
    ///         rest plus the dissenter's penalty: 5_000_000 + 6_000_001 = 11_000_001, 5_500_000 each,
    ///         1 of dust to funding. Nothing slashed.
    function test_finalize_honest_bondSplit() public {
        bytes32 caseId = _report();
        address[3] memory drawn = _drawn(caseId);
        _vote(caseId, [false, true, false]);
        vm.expectEmit(address(sv));
        emit ServingVerification.Verdict(caseId, provider, 2, 0);
        sv.finalize(caseId);

        assertEq(sv.earnings(provider), 5_000_000, "provider gets half the bond");
        assertEq(sv.earnings(drawn[0]), 5_500_000, "majority 0");
        assertEq(sv.earnings(drawn[2]), 5_500_000, "majority 2");
        assertEq(sv.earnings(drawn[1]), 0, "dissenter");
        assertEq(sv.earnings(address(qf)), 1, "dust");
        assertEq(sv.earnings(reporter), 0, "reporter loses the bond");
        ProviderRegistry.Provider memory p = providers.getProvider(provider);
        assertEq(p.stake, PROVIDER_STAKE, "nothing slashed");
        assertEq(p.openCases, 0, "unfrozen");
        assertFalse(p.suspended, "not suspended");
        assertTrue(providers.isActive(provider), "still active");
        assertEq(providers.totalSlashed(), 0, "no slash");
        (uint64 passed, uint64 failed, uint256 slashedAmount, bool suspended) = sv.providerRecord(provider);
        assertEq(passed, 1, "passed");
        assertEq(failed, 0, "failed");
        assertEq(slashedAmount, 0, "slashed");
        assertFalse(suspended, "suspended");
        _assertValidatorRecord(drawn[0], 1, 0, 0, VALIDATOR_STAKE);
        _assertValidatorRecord(drawn[1], 0, 1, 0, VALIDATOR_STAKE - PENALTY);
        _assertValidatorRecord(drawn[2], 1, 0, 0, VALIDATOR_STAKE);
        _assertNothingStranded();
    }

    /// @notice A fraud majority whose third validator committed but never revealed: decidable only
    ///         at the reveal deadline; the silent one is penalised as missed, the split as above.
    function test_finalize_fraud_missingRevealPenalised() public {
        bytes32 caseId = _report();
        address[3] memory drawn = _drawn(caseId);
        for (uint256 i; i < 3; ++i) _commit(caseId, drawn[i], true);
        _reveal(caseId, drawn[0], true);
        _reveal(caseId, drawn[1], true);
        uint64 revealDeadline = sv.getCase(caseId).revealDeadline;
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.NotDecidable.selector, caseId, revealDeadline));
        sv.finalize(caseId);
        vm.warp(revealDeadline);
        sv.finalize(caseId);
        assertEq(sv.getCase(caseId).outcome, 1, "fraud");
        assertEq(sv.earnings(drawn[0]), 25_500_001, "majority 0");
        assertEq(sv.earnings(drawn[1]), 25_500_001, "majority 1");
        assertEq(sv.earnings(address(qf)), TO_FUNDING + 1, "funding + dust");
        _assertValidatorRecord(drawn[2], 0, 0, 1, VALIDATOR_STAKE - PENALTY);
        _assertNothingStranded();
    }

    /// @notice Reveals split (one fraud, one honest, one silent): no quorum at the deadline. The
    ///         reporter gets its bond back, nothing is slashed, the silent validator's penalty funds
    ///         the pool, the two who revealed keep their stake and record.
    function test_finalize_noQuorum_splitVotes() public {
        bytes32 caseId = _report();
        address[3] memory drawn = _drawn(caseId);
        for (uint256 i; i < 3; ++i) _commit(caseId, drawn[i], i == 0);
        _reveal(caseId, drawn[0], true);
        _reveal(caseId, drawn[1], false);
        vm.warp(sv.getCase(caseId).revealDeadline);
        vm.expectEmit(address(sv));
        emit ServingVerification.Verdict(caseId, provider, 3, 0);
        sv.finalize(caseId);
        assertEq(sv.earnings(reporter), REPORT_BOND, "bond back");
        assertEq(sv.earnings(address(qf)), PENALTY, "the silent validator's penalty funds the pool");
        assertEq(sv.earnings(provider), 0, "provider");
        assertEq(providers.getProvider(provider).stake, PROVIDER_STAKE, "nothing slashed");
        assertEq(providers.getProvider(provider).openCases, 0, "unfrozen");
        assertTrue(providers.isActive(provider), "active");
        _assertValidatorRecord(drawn[0], 0, 0, 0, VALIDATOR_STAKE);
        _assertValidatorRecord(drawn[1], 0, 0, 0, VALIDATOR_STAKE);
        _assertValidatorRecord(drawn[2], 0, 0, 1, VALIDATOR_STAKE - PENALTY);
        (uint64 passed, uint64 failed,,) = sv.providerRecord(provider);
        assertEq(passed + failed, 0, "no record either way");
        _assertNothingStranded();
    }

    /// @notice Fewer than two commitments when the commit phase ends: no quorum is possible, so the
    ///         case can be decided at once. The two silent validators are penalised (12_000_002 to
    ///         the pool); the one that committed had no chance to reveal yet and is not.
    function test_finalize_noQuorum_earlyWhenTooFewCommitments() public {
        bytes32 caseId = _report();
        address[3] memory drawn = _drawn(caseId);
        _commit(caseId, drawn[0], true);
        uint64 commitDeadline = sv.getCase(caseId).commitDeadline;
        vm.expectRevert(
            abi.encodeWithSelector(ServingVerification.NotDecidable.selector, caseId, sv.getCase(caseId).revealDeadline)
        );
        sv.finalize(caseId);
        vm.warp(commitDeadline);
        sv.finalize(caseId);
        assertEq(sv.getCase(caseId).outcome, 3, "no quorum");
        assertEq(sv.earnings(reporter), REPORT_BOND, "bond back");
        assertEq(sv.earnings(address(qf)), 2 * PENALTY, "two penalties");
        _assertValidatorRecord(drawn[0], 0, 0, 0, VALIDATOR_STAKE);
        _assertValidatorRecord(drawn[1], 0, 0, 1, VALIDATOR_STAKE - PENALTY);
        _assertValidatorRecord(drawn[2], 0, 0, 1, VALIDATOR_STAKE - PENALTY);
        _assertNothingStranded();
    }

    function test_finalize_twiceRefused() public {
        bytes32 caseId = _report();
        address[3] memory drawn = _drawn(caseId);
        _vote(caseId, [true, true, true]);
        sv.finalize(caseId);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.CaseAlreadyDecided.selector, caseId, uint8(1)));
        sv.finalize(caseId);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.CaseAlreadyDecided.selector, caseId, uint8(1)));
        _reveal(caseId, drawn[0], true);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.CaseNotFound.selector, bytes32(0)));
        sv.finalize(bytes32(0));
        assertEq(providers.totalSlashed(), 150_000_007, "slashed once");
        // All three agree: 45_000_002 / 3 = 15_000_000 each, 2 of dust to funding.
        assertEq(sv.earnings(drawn[1]), 15_000_000, "each of three");
        assertEq(sv.earnings(address(qf)), TO_FUNDING + 2, "funding + dust, credited once");
    }

    function _assertValidatorRecord(address v, uint64 agreed, uint64 disagreed, uint64 missed, uint256 stake)
        internal
        view
    {
        (uint64 a, uint64 d, uint64 m, uint256 s) = sv.validatorRecord(v);
        assertEq(a, agreed, "agreed");
        assertEq(d, disagreed, "disagreed");
        assertEq(m, missed, "missed");
        assertEq(s, stake, "stake");
    }

    // ------------------------------------------------------------ the provider's side

    function test_provider_frozenWhileCaseOpen() public {
        // The provider unbonds everything, and is reported just as its delay ends.
        vm.prank(provider);
        providers.requestUnstake(PROVIDER_STAKE);
        vm.warp(START_TIME + UNSTAKE_DELAY);
        bytes32 first = _report();
        bytes32 second = _report();
        assertEq(providers.getProvider(provider).openCases, 2, "two cases hold it");
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.StakeFrozen.selector, provider, uint32(2)));
        vm.prank(provider);
        providers.withdrawStake();

        _vote(first, [false, false, false]);
        sv.finalize(first);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.StakeFrozen.selector, provider, uint32(1)));
        vm.prank(provider);
        providers.withdrawStake();

        _vote(second, [false, false, false]);
        sv.finalize(second);
        vm.prank(provider);
        providers.withdrawStake();
        assertEq(usd.balanceOf(provider), PROVIDER_STAKE, "full stake back after two honest verdicts");
        assertEq(sv.earnings(provider), 2 * 5_000_000, "half of two bonds");
        (uint64 passed,,,) = sv.providerRecord(provider);
        assertEq(passed, 2, "two passes");
        _assertNothingStranded();
    }

    /// @notice Cheating then unbonding does not escape: the unbonding stake is slashed.
    function test_provider_unstakeAfterCheatingStillSlashed() public {
        bytes32 caseId = _report();
        vm.prank(provider);
        providers.requestUnstake(PROVIDER_STAKE);
        _vote(caseId, [true, true, true]);
        sv.finalize(caseId);
        ProviderRegistry.Provider memory p = providers.getProvider(provider);
        assertEq(p.unstaking, 0, "unbonding stake slashed");
        assertEq(p.slashed, PROVIDER_STAKE, "all of it");
        vm.warp(START_TIME + UNSTAKE_DELAY);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NothingToWithdraw.selector, provider));
        vm.prank(provider);
        providers.withdrawStake();
        _assertNothingStranded();
    }

    function test_registry_onlyVerifierSlashesFreezesSuspends() public {
        vm.startPrank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotVerifier.selector, stranger));
        providers.slash(provider, 1);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotVerifier.selector, stranger));
        providers.freeze(provider);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotVerifier.selector, stranger));
        providers.unfreeze(provider);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotVerifier.selector, stranger));
        providers.suspend(provider);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotDeployer.selector, stranger));
        providers.setVerifier(stranger);
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.VerifierAlreadySet.selector, address(sv)));
        providers.setVerifier(stranger);
        assertEq(providers.verifier(), address(sv), "verifier wired once");
    }

    // ------------------------------------------------------------ reputation

    function test_attestPasses_onlyStakedValidators() public {
        address v = validatorAccounts[0];
        vm.prank(v);
        sv.attestPasses(provider, 7);
        vm.prank(validatorAccounts[1]);
        sv.attestPasses(provider, 3);
        (uint64 passed, uint64 failed,,) = sv.providerRecord(provider);
        assertEq(passed, 10, "7 + 3 passes");
        assertEq(failed, 0, "no failures");

        vm.expectRevert(abi.encodeWithSelector(ServingVerification.NotValidator.selector, stranger));
        vm.prank(stranger);
        sv.attestPasses(provider, 1);
        vm.expectRevert(ServingVerification.ZeroAmount.selector);
        vm.prank(v);
        sv.attestPasses(provider, 0);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.ProviderNotRegistered.selector, stranger));
        vm.prank(v);
        sv.attestPasses(stranger, 1);

        _registerValidator(provider, VALIDATOR_STAKE);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.SelfAttestation.selector, provider));
        vm.prank(provider);
        sv.attestPasses(provider, 1);

        // Below the minimum stake, no longer a validator.
        vm.prank(v);
        sv.requestValidatorUnstake(VALIDATOR_STAKE - MIN_VALIDATOR_STAKE + 1);
        vm.expectRevert(abi.encodeWithSelector(ServingVerification.NotValidator.selector, v));
        vm.prank(v);
        sv.attestPasses(provider, 1);
        (passed,,,) = sv.providerRecord(provider);
        assertEq(passed, 10, "unchanged");
    }

    // ------------------------------------------------------------ money identity, fuzzed

    /// @notice Whatever the stake, the part unbonding and the votes: the shares credited by a
    ///         verdict add up to the slash plus the bond plus the penalties exactly, and the
    ///         verifier's balance equals what it owes.
    function testFuzz_verdict_moneyIdentity(uint256 stake, uint256 unstake, uint8 votes, uint8 reveals) public {
        stake = bound(stake, MIN_STAKE, 1e15);
        unstake = bound(unstake, 0, stake);
        address p3 = makeAddr("p3");
        (, uint256 p3Key) = makeAddrAndKey("p3");
        _registerProvider(p3, stake, modelId);
        _addEarner(p3);
        if (unstake != 0) {
            vm.prank(p3);
            providers.requestUnstake(unstake);
        }
        bytes32 caseId = _reportAs(reporter, p3, p3Key);
        address[3] memory drawn = _drawn(caseId);
        for (uint256 i; i < 3; ++i) _commit(caseId, drawn[i], (votes >> i) & 1 == 1);
        for (uint256 i; i < 3; ++i) {
            if ((reveals >> i) & 1 == 1) _reveal(caseId, drawn[i], (votes >> i) & 1 == 1);
        }
        vm.warp(sv.getCase(caseId).revealDeadline);

        uint256 creditedBefore = _credited();
        uint256 validatorStakeBefore = _validatorStake();
        uint256 registryBefore = usd.balanceOf(address(providers));
        sv.finalize(caseId);
        uint256 slashed = registryBefore - usd.balanceOf(address(providers));
        uint256 penalties = validatorStakeBefore - _validatorStake();
        assertEq(_credited() - creditedBefore, slashed + REPORT_BOND + penalties, "shares == slash + bond + penalties");
        uint8 outcome = sv.getCase(caseId).outcome;
        if (outcome == 1) assertEq(slashed, stake, "fraud takes all the stake");
        else assertEq(slashed, 0, "no slash without a fraud quorum");
        (,, uint256 recorded,) = sv.providerRecord(p3);
        assertEq(recorded, slashed, "record matches the slash");
        _assertNothingStranded();
    }

    function _credited() internal view returns (uint256 sum) {
        for (uint256 i; i < earners.length; ++i) sum += sv.earnings(earners[i]);
    }

    function _validatorStake() internal view returns (uint256 sum) {
        for (uint256 i; i < earners.length; ++i) {
            ServingVerification.Validator memory v = sv.getValidator(earners[i]);
            sum += v.stake + v.unstaking;
        }
    }
}

/// @notice Partial slashing (60%): active stake is taken first, then unbonding stake, and what is
///         left stays the provider's to withdraw after the verdict.
contract ServingVerificationPartialSlashTest is VerificationFixture {
    function _params() internal pure override returns (ServingVerification.Params memory p) {
        p = super._params();
        p.slashBps = 6_000;
    }

    /// @notice Stake 50_000_007 active + 100_000_000 unbonding; 60% of 150_000_007 is 90_000_004:
    ///         50_000_007 from stake, 39_999_997 from unstaking, 60_000_003 left. Reporter 18_000_000
    ///         (20%, floored from 18_000_000.8), validators 27_000_001 (30%), 9_000_000 each of three
    ///         with 1 of dust; funding 90_000_004 - 18_000_000 - 27_000_001 + 1 = 45_000_004.
    function test_partialSlash_stakeThenUnstaking() public {
        vm.prank(provider);
        providers.requestUnstake(100_000_000);
        bytes32 caseId = _report();
        address[3] memory drawn = _drawn(caseId);
        _vote(caseId, [true, true, true]);
        sv.finalize(caseId);

        ProviderRegistry.Provider memory p = providers.getProvider(provider);
        assertEq(p.stake, 0, "active stake taken first");
        assertEq(p.unstaking, 60_000_003, "rest of unbonding stake left");
        assertEq(p.slashed, 90_000_004, "slashed");
        assertEq(sv.earnings(reporter), REPORT_BOND + 18_000_000, "reporter");
        for (uint256 i; i < 3; ++i) assertEq(sv.earnings(drawn[i]), 9_000_000, "each validator");
        assertEq(sv.earnings(address(qf)), 45_000_004, "funding + dust");
        assertEq(
            sv.earnings(reporter) + 3 * 9_000_000 + sv.earnings(address(qf)), 90_000_004 + REPORT_BOND, "identity"
        );
        _assertNothingStranded();

        vm.warp(START_TIME + UNSTAKE_DELAY);
        vm.prank(provider);
        providers.withdrawStake();
        assertEq(usd.balanceOf(provider), 60_000_003, "unslashed remainder withdrawn");
        assertFalse(providers.isActive(provider), "suspended");
    }
}
