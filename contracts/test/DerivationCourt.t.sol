// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {VerificationFixture} from "./utils/VerificationFixture.sol";
import {DerivationCourt} from "../src/DerivationCourt.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";

/// @notice DerivationCourt wired as deployed: ServingVerification's five validators are drawn, the
///         registry names the court. The base model (`modelId`, the fixture's, owned by `creator`)
///         asks 30% of its derivatives; `copier` registers `copyId` (a quantisation, say) without
///         naming it. Amounts to the base unit from hand-worked figures.
contract DerivationCourtTest is VerificationFixture {
    uint256 internal constant BOND = 20_000_003;
    /// @dev Odd, so the split between validators rounds: 7_000_001 / 3 = 2_333_333 r 2; / 2 = 3_500_000 r 1.
    uint256 internal constant FEE = 7_000_001;
    uint16 internal constant TERMS_BPS = 3_000;
    uint8 internal constant QUANTISATION = 3;

    DerivationCourt internal court;
    address internal creator;
    address internal copier;
    uint256 internal copyId;

    function setUp() public override {
        super.setUp();
        creator = makeAddr("creator");
        copier = makeAddr("copier");
        court = new DerivationCourt(
            models, sv, DerivationCourt.Params({bond: BOND, fee: FEE, commitPeriod: COMMIT_PERIOD, revealPeriod: REVEAL_PERIOD})
        );
        models.setDerivationCourt(address(court));
        vm.prank(creator);
        models.setDerivativeTerms(modelId, TERMS_BPS);
        vm.prank(copier);
        copyId = models.register("stories260K-q8", keccak256("q8 weights"), keccak256("m2"), "ipfs://q8", 1000);
    }

    // ------------------------------------------------------------ wiring

    function test_setDerivationCourt_onceByDeployerOnly() public {
        assertEq(models.derivationCourt(), address(court), "wired");
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.CourtAlreadySet.selector, address(court)));
        models.setDerivationCourt(stranger);
        ModelRegistry fresh = new ModelRegistry();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotDeployer.selector, stranger));
        vm.prank(stranger);
        fresh.setDerivationCourt(stranger);
        vm.expectRevert(ModelRegistry.ZeroCourt.selector);
        fresh.setDerivationCourt(address(0));
    }

    function test_addRuledParent_onlyByCourt() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotCourt.selector, stranger));
        vm.prank(stranger);
        models.addRuledParent(copyId, modelId, QUANTISATION, TERMS_BPS, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotCourt.selector, copier));
        vm.prank(copier);
        models.addRuledParent(copyId, modelId, QUANTISATION, TERMS_BPS, bytes32(0));
    }

    function test_addRuledParent_checksAndCapsTheStack() public {
        vm.startPrank(address(court));
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ParentNotFound.selector, copyId));
        models.addRuledParent(modelId, copyId, QUANTISATION, 1, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.InvalidRelation.selector, modelId, 6));
        models.addRuledParent(copyId, modelId, 6, 1, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelNotFound.selector, 99));
        models.addRuledParent(99, modelId, QUANTISATION, 1, bytes32(0));
        // Asked 9,500 on an empty stack: cut to the 9,000 cap.
        assertEq(models.addRuledParent(copyId, modelId, QUANTISATION, 9_500, bytes32("case")), 9_000, "capped");
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.AlreadyParent.selector, copyId, modelId));
        models.addRuledParent(copyId, modelId, QUANTISATION, 1, bytes32(0));
        vm.stopPrank();
        assertTrue(models.hasRoyaltyStack(copyId), "stacked");
        assertEq(models.depthOf(copyId), 1, "depth 1");
    }

    // ------------------------------------------------------------ opening

    function test_open_refusesBadClaims() public {
        _fund(creator);
        vm.startPrank(creator);
        vm.expectRevert(abi.encodeWithSelector(DerivationCourt.ModelNotFound.selector, 77));
        court.open(77, modelId, QUANTISATION);
        vm.expectRevert(abi.encodeWithSelector(DerivationCourt.ParentNotOlder.selector, copyId, modelId));
        court.open(modelId, copyId, QUANTISATION);
        vm.expectRevert(abi.encodeWithSelector(DerivationCourt.InvalidRelation.selector, 0));
        court.open(copyId, modelId, 0);
        vm.stopPrank();

        vm.expectRevert(abi.encodeWithSelector(DerivationCourt.NotParentOwner.selector, modelId, stranger));
        vm.prank(stranger);
        court.open(copyId, modelId, QUANTISATION);

        // The creator's own second model: nobody to dispute with.
        vm.prank(creator);
        uint256 own = models.register("own", keccak256("own"), keccak256("m3"), "ipfs://o", 100);
        vm.expectRevert(abi.encodeWithSelector(DerivationCourt.SameOwner.selector, creator));
        vm.prank(creator);
        court.open(own, modelId, QUANTISATION);

        // A parent that asks nothing of its derivatives.
        vm.prank(creator);
        models.setDerivativeTerms(modelId, 0);
        vm.expectRevert(abi.encodeWithSelector(DerivationCourt.NoDerivativeTerms.selector, modelId));
        vm.prank(creator);
        court.open(copyId, modelId, QUANTISATION);
        assertEq(usd.balanceOf(address(court)), 0, "nothing pulled by a refused claim");
    }

    function test_open_refusesADeclaredParentAndASecondOpenCase() public {
        ModelRegistry.Parent[] memory parents = new ModelRegistry.Parent[](1);
        parents[0] = ModelRegistry.Parent({modelId: modelId, relation: QUANTISATION, shareBps: TERMS_BPS});
        vm.prank(copier);
        uint256 declared = models.registerDerivative(
            "declared", keccak256("declared"), keccak256("m4"), "ipfs://d", 1000, parents, new ModelRegistry.DataShare[](0)
        );
        _fund(creator);
        vm.expectRevert(abi.encodeWithSelector(DerivationCourt.AlreadyParent.selector, declared, modelId));
        vm.prank(creator);
        court.open(declared, modelId, QUANTISATION);

        bytes32 caseId = _open();
        _fund(creator);
        vm.expectRevert(abi.encodeWithSelector(DerivationCourt.CaseAlreadyOpen.selector, caseId));
        vm.prank(creator);
        court.open(copyId, modelId, QUANTISATION);
        assertEq(court.openCaseOf(copyId, modelId), caseId, "the open case");
    }

    function test_open_drawsThreeValidatorsAndPullsBondAndFee() public {
        bytes32 caseId = _open();
        DerivationCourt.Case memory c = court.getCase(caseId);
        assertEq(c.claimant, creator, "claimant");
        assertEq(c.childId, copyId, "child");
        assertEq(c.parentId, modelId, "parent");
        assertEq(c.shareBps, TERMS_BPS, "the parent's terms");
        assertEq(usd.balanceOf(address(court)), BOND + FEE, "bond and fee held");
        assertEq(usd.balanceOf(creator), 0, "pulled");
        for (uint256 i; i < 3; ++i) {
            assertTrue(sv.isValidator(c.validators[i]), "drawn from ServingVerification's validators");
            for (uint256 j; j < i; ++j) assertTrue(c.validators[i] != c.validators[j], "distinct");
        }
    }

    function test_open_needsThreeEligibleValidators() public {
        // Two of the five validators are the owners themselves: three left, enough. Make four owners.
        for (uint256 i; i < 3; ++i) {
            vm.prank(validatorAccounts[i]);
            sv.requestValidatorUnstake(VALIDATOR_STAKE);
        }
        _fund(creator);
        vm.expectRevert(abi.encodeWithSelector(DerivationCourt.NotEnoughValidators.selector, 2, 3));
        vm.prank(creator);
        court.open(copyId, modelId, QUANTISATION);
    }

    // ------------------------------------------------------------ verdicts

    /// @dev Three "derivative" votes: the parent joins the lineage at 30%, the bond comes back, the
    ///      fee is split three ways (2_333_333 each, the 2 of dust to the first), and a royalty that
    ///      flows afterwards pays the parent exactly 30% (1_000_003 * 3_000 / 10_000 = 300_000 floored).
    function test_derivativeVerdict_addsTheParentAndPaysItFromThenOn() public {
        bytes32 caseId = _open();
        address[3] memory drawn = court.getCase(caseId).validators;
        _courtVote(caseId, [true, true, true]);
        court.finalize(caseId);

        ModelRegistry.Parent[] memory parents = models.parentsOf(copyId);
        assertEq(parents.length, 1, "one parent");
        assertEq(parents[0].modelId, modelId, "the base");
        assertEq(parents[0].relation, QUANTISATION, "relation");
        assertEq(parents[0].shareBps, TERMS_BPS, "share");
        assertEq(court.getCase(caseId).outcome, court.OUTCOME_DERIVATIVE(), "derivative");
        assertEq(court.openCaseOf(copyId, modelId), bytes32(0), "closed");

        assertEq(court.earnings(creator), BOND, "bond back");
        assertEq(court.earnings(drawn[0]), 2_333_335, "a third of the fee and the dust");
        assertEq(court.earnings(drawn[1]), 2_333_333, "a third");
        assertEq(court.earnings(drawn[2]), 2_333_333, "a third");
        assertEq(court.earnings(copier), 0, "the copier gets nothing");
        _withdrawAll([creator, drawn[0], drawn[1]], drawn[2]);
        assertEq(usd.balanceOf(address(court)), 0, "every unit paid out");

        // Royalties credited to the copy now flow 30% to the base.
        usd.mint(stranger, 1_000_003);
        vm.startPrank(stranger);
        usd.approve(address(channels), 1_000_003);
        channels.creditRoyalty(copyId, 1_000_003);
        vm.stopPrank();
        channels.flowRoyalties(copyId);
        assertEq(channels.pendingRoyalties(modelId), 300_000, "30% to the base");
        assertEq(channels.withdrawableModelEarnings(copyId), 700_003, "the rest kept by the copy");
    }

    /// @dev Two "not a derivative" against one: the bond goes to the copy's owner, the fee to the two
    ///      (3_500_000 each, the 1 of dust to the first of them); the dissenter is marked.
    function test_notDerivativeVerdict_paysTheBondToTheAccused() public {
        bytes32 caseId = _open();
        address[3] memory drawn = court.getCase(caseId).validators;
        _courtVote(caseId, [true, false, false]);
        court.finalize(caseId);
        assertEq(court.getCase(caseId).outcome, court.OUTCOME_NOT_DERIVATIVE(), "not a derivative");
        assertEq(models.parentsOf(copyId).length, 0, "lineage unchanged");
        assertEq(court.earnings(copier), BOND, "bond to the accused");
        assertEq(court.earnings(creator), 0, "claimant loses bond and fee");
        assertEq(court.earnings(drawn[0]), 0, "dissenter unpaid");
        assertEq(court.earnings(drawn[1]), 3_500_001, "half and the dust");
        assertEq(court.earnings(drawn[2]), 3_500_000, "half");
        assertEq(court.validatorRecord(drawn[0]).disagreed, 1, "marked");
        assertEq(court.validatorRecord(drawn[1]).agreed, 1, "agreed");

        // The pair can be disputed again (a new case id), with a new bond.
        bytes32 again = _open();
        assertTrue(again != caseId, "a new case");
    }

    function test_noQuorum_refundsTheClaimant() public {
        bytes32 caseId = _open();
        address[3] memory drawn = court.getCase(caseId).validators;
        _courtCommit(caseId, drawn[0], true);
        vm.expectRevert(abi.encodeWithSelector(DerivationCourt.NotDecidable.selector, caseId, court.getCase(caseId).revealDeadline));
        court.finalize(caseId);
        vm.warp(block.timestamp + COMMIT_PERIOD);
        court.finalize(caseId); // fewer than two commitments once the commit phase ended
        assertEq(court.getCase(caseId).outcome, court.OUTCOME_NO_QUORUM(), "no quorum");
        assertEq(court.earnings(creator), BOND + FEE, "bond and fee back");
        assertEq(court.validatorRecord(drawn[0]).missed, 0, "the committed one had no chance to reveal");
        assertEq(court.validatorRecord(drawn[1]).missed, 1, "silent");
        vm.expectRevert(abi.encodeWithSelector(DerivationCourt.CaseAlreadyDecided.selector, caseId, 3));
        court.finalize(caseId);
    }

    function test_commitReveal_refusals() public {
        bytes32 caseId = _open();
        address[3] memory drawn = court.getCase(caseId).validators;
        vm.expectRevert(abi.encodeWithSelector(DerivationCourt.NotDrawn.selector, caseId, stranger));
        vm.prank(stranger);
        court.commitVote(caseId, bytes32("x"));
        vm.expectRevert(DerivationCourt.ZeroCommitment.selector);
        vm.prank(drawn[0]);
        court.commitVote(caseId, bytes32(0));
        _courtCommit(caseId, drawn[0], true);
        vm.expectRevert(abi.encodeWithSelector(DerivationCourt.AlreadyCommitted.selector, caseId, drawn[0]));
        vm.prank(drawn[0]);
        court.commitVote(caseId, bytes32("y"));
        vm.expectRevert(abi.encodeWithSelector(DerivationCourt.RevealNotOpen.selector, caseId, court.getCase(caseId).commitDeadline));
        _courtReveal(caseId, drawn[0], true);
        _courtCommit(caseId, drawn[1], true);
        _courtCommit(caseId, drawn[2], false);
        vm.expectRevert(abi.encodeWithSelector(DerivationCourt.CommitmentMismatch.selector, caseId, drawn[0]));
        _courtReveal(caseId, drawn[0], false);
        _courtReveal(caseId, drawn[0], true);
        vm.expectRevert(abi.encodeWithSelector(DerivationCourt.AlreadyRevealed.selector, caseId, drawn[0]));
        _courtReveal(caseId, drawn[0], true);
        vm.expectRevert(abi.encodeWithSelector(DerivationCourt.CaseNotFound.selector, bytes32("none")));
        court.finalize(bytes32("none"));
    }

    /// @dev Any votes, any moment of finalizing: every unit the court received is owed to exactly one
    ///      account afterwards (the court's balance equals what it credits), and only a derivative
    ///      verdict changes the lineage.
    function testFuzz_verdictPaysExactlyWhatWasReceived(uint8 commitMask, uint8 voteMask, uint8 revealMask, bool late) public {
        bytes32 caseId = _open();
        address[3] memory drawn = court.getCase(caseId).validators;
        for (uint256 i; i < 3; ++i) {
            if (commitMask & (1 << i) != 0) _courtCommit(caseId, drawn[i], voteMask & (1 << i) != 0);
        }
        vm.warp(block.timestamp + COMMIT_PERIOD);
        for (uint256 i; i < 3; ++i) {
            if (commitMask & revealMask & (1 << i) != 0) _courtReveal(caseId, drawn[i], voteMask & (1 << i) != 0);
        }
        if (late) vm.warp(block.timestamp + REVEAL_PERIOD);
        try court.finalize(caseId) {} catch {
            vm.warp(block.timestamp + REVEAL_PERIOD);
            court.finalize(caseId);
        }
        uint256 owed = court.earnings(creator) + court.earnings(copier);
        for (uint256 i; i < 3; ++i) owed += court.earnings(drawn[i]);
        assertEq(owed, BOND + FEE, "everything received is owed to someone");
        assertEq(usd.balanceOf(address(court)), BOND + FEE, "and held");
        bool derivative = court.getCase(caseId).outcome == court.OUTCOME_DERIVATIVE();
        assertEq(models.parentsOf(copyId).length, derivative ? 1 : 0, "lineage changes only on a derivative verdict");
    }

    // ------------------------------------------------------------ helpers

    function _fund(address account) internal {
        usd.mint(account, BOND + FEE);
        vm.prank(account);
        usd.approve(address(court), BOND + FEE);
    }

    function _open() internal returns (bytes32 caseId) {
        _fund(creator);
        vm.prank(creator);
        caseId = court.open(copyId, modelId, QUANTISATION);
    }

    function _courtCommit(bytes32 caseId, address validator, bool derivative) internal {
        vm.prank(validator);
        court.commitVote(caseId, _commitment(caseId, derivative, _salt(validator, caseId), validator));
    }

    function _courtReveal(bytes32 caseId, address validator, bool derivative) internal {
        vm.prank(validator);
        court.revealVote(caseId, derivative, _salt(validator, caseId));
    }

    function _courtVote(bytes32 caseId, bool[3] memory votes) internal {
        address[3] memory drawn = court.getCase(caseId).validators;
        for (uint256 i; i < 3; ++i) _courtCommit(caseId, drawn[i], votes[i]);
        for (uint256 i; i < 3; ++i) _courtReveal(caseId, drawn[i], votes[i]);
    }

    function _withdrawAll(address[3] memory accounts, address last) internal {
        for (uint256 i; i < 3; ++i) {
            uint256 owed = court.earnings(accounts[i]);
            vm.prank(accounts[i]);
            court.withdrawEarnings(accounts[i]);
            assertEq(usd.balanceOf(accounts[i]), owed, "withdrawn");
        }
        vm.prank(last);
        court.withdrawEarnings(last);
    }
}
