// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {FundingFixture} from "./utils/FundingFixture.sol";
import {QuadraticFunding} from "../src/QuadraticFunding.sol";
import {FundingRounds} from "../src/funding/FundingRounds.sol";
import {Stewardship} from "../src/funding/Stewardship.sol";
import {Tallies} from "../src/funding/Tallies.sol";
import {FeeOnTransferToken} from "./mocks/FeeOnTransferToken.sol";

/// @notice Rounds, applications, donations, finalization and claims: the happy paths with exact
///         figures, every refusal with its exact error, and fuzzed conservation of tokens.
contract QuadraticFundingTest is FundingFixture {
    // ------------------------------------------------------------ deployment and wiring

    function test_constructor_revertsOnZeroSteward() public {
        vm.expectRevert(Stewardship.ZeroSteward.selector);
        new QuadraticFunding(models, address(0));
    }

    function test_setPaymentChannels_revertsWhenAlreadySet() public {
        vm.expectRevert(abi.encodeWithSelector(Stewardship.PaymentChannelsAlreadySet.selector, address(channels)));
        qf.setPaymentChannels(channels);
    }

    function test_setPaymentChannels_revertsForAnyoneButTheDeployer() public {
        QuadraticFunding fresh = new QuadraticFunding(models, steward);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Stewardship.NotDeployer.selector, stranger));
        fresh.setPaymentChannels(channels);
    }

    function test_setPaymentChannels_revertsWhenFeesGoElsewhere() public {
        QuadraticFunding fresh = new QuadraticFunding(models, steward);
        vm.expectRevert(abi.encodeWithSelector(Stewardship.NotFundingPoolOf.selector, address(qf)));
        fresh.setPaymentChannels(channels);
    }

    function test_setSteward_handsOverAndRefusesOthers() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Stewardship.NotSteward.selector, stranger));
        qf.setSteward(stranger);
        vm.prank(steward);
        vm.expectRevert(Stewardship.ZeroSteward.selector);
        qf.setSteward(address(0));
        vm.prank(steward);
        qf.setSteward(stranger);
        assertEq(qf.steward(), stranger);
    }

    // ------------------------------------------------------------ createRound

    function test_createRound_storesItsConfiguration() public {
        QuadraticFunding.RoundParams memory params = _params();
        params.matchingCapBps = 2500;
        params.donorCap = 50e6;
        uint256 roundId = _createRound(params);
        assertEq(roundId, 1);
        assertEq(qf.roundCount(), 1);
        QuadraticFunding.Round memory round = qf.getRound(roundId);
        assertEq(round.operator, operator);
        assertEq(address(round.token), address(usd));
        assertEq(round.donationEnd, uint64(block.timestamp) + ROUND_LENGTH);
        assertEq(round.matchingCapBps, 2500);
        assertEq(round.donorCap, 50e6);
        assertEq(round.pool, 0);
        assertFalse(round.finalized);
    }

    function test_createRound_revertsWhenTokenIsNotAContract() public {
        QuadraticFunding.RoundParams memory params = _params();
        params.token = IERC20(stranger);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.TokenNotContract.selector, stranger));
        qf.createRound(params);
    }

    function test_createRound_revertsOnWindowsOutOfOrder() public {
        uint64 t = uint64(block.timestamp);
        uint64[4][5] memory cases = [
            [t, t, t, t + 1], // empty application window
            [t, t + 1, t + 5, t + 5], // empty donation window
            [t + 2, t + 3, t + 1, t + 5], // applications open after donations
            [t, t + 6, t, t + 5], // applications close after donations
            [t + 5, t + 1, t, t + 9] // application window reversed
        ];
        for (uint256 i; i < cases.length; ++i) {
            QuadraticFunding.RoundParams memory params = _params();
            (params.applicationStart, params.applicationEnd, params.donationStart, params.donationEnd) =
                (cases[i][0], cases[i][1], cases[i][2], cases[i][3]);
            vm.expectRevert(
                abi.encodeWithSelector(
                    FundingRounds.InvalidWindows.selector, cases[i][0], cases[i][1], cases[i][2], cases[i][3]
                )
            );
            qf.createRound(params);
        }
    }

    function test_createRound_revertsWhenDonationsAlreadyEnded() public {
        QuadraticFunding.RoundParams memory params = _params();
        uint64 t = uint64(block.timestamp);
        (params.applicationStart, params.applicationEnd, params.donationStart, params.donationEnd) =
            (t - 10, t - 5, t - 10, t);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.DonationEndInPast.selector, t, t));
        qf.createRound(params);
    }

    function test_createRound_revertsOnMatchingCapOutOfRange() public {
        QuadraticFunding.RoundParams memory params = _params();
        params.matchingCapBps = 0;
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.InvalidMatchingCap.selector, uint16(0)));
        qf.createRound(params);
        params.matchingCapBps = 10_001;
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.InvalidMatchingCap.selector, uint16(10_001)));
        qf.createRound(params);
    }

    function test_createRound_revertsOnUsageWeightOutOfRange() public {
        QuadraticFunding.RoundParams memory params = _params();
        params.usageWeightBps = 10_001;
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.InvalidUsageWeight.selector, uint16(10_001)));
        qf.createRound(params);
    }

    function test_createRound_revertsOnUsageWeightBeforePaymentChannelsAreWired() public {
        QuadraticFunding fresh = new QuadraticFunding(models, steward);
        QuadraticFunding.RoundParams memory params = _params();
        params.usageWeightBps = 5000;
        vm.expectRevert(Stewardship.PaymentChannelsNotSet.selector);
        fresh.createRound(params);
    }

    function test_createRound_revertsOnInconsistentAttestationSettings() public {
        QuadraticFunding.RoundParams memory params = _params();
        // issuers without a registry
        params.issuers = new address[](1);
        params.issuers[0] = issuer;
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.InvalidAttestationConfig.selector, address(0), 1));
        qf.createRound(params);
        // a registry without issuers
        params.attestations = attestations;
        params.issuers = new address[](0);
        vm.expectRevert(
            abi.encodeWithSelector(FundingRounds.InvalidAttestationConfig.selector, address(attestations), 0)
        );
        qf.createRound(params);
        // too many issuers
        params.issuers = new address[](5);
        for (uint256 i; i < 5; ++i) {
            params.issuers[i] = makeAddr(string.concat("issuer", vm.toString(i)));
        }
        vm.expectRevert(
            abi.encodeWithSelector(FundingRounds.InvalidAttestationConfig.selector, address(attestations), 5)
        );
        qf.createRound(params);
        // a zero issuer
        params.issuers = new address[](2);
        params.issuers[0] = issuer;
        vm.expectRevert(
            abi.encodeWithSelector(FundingRounds.InvalidAttestationConfig.selector, address(attestations), 2)
        );
        qf.createRound(params);
    }

    // ------------------------------------------------------------ applyProject

    function test_applyProject_withAModelAndWithAnAddress() public {
        uint256 roundId = _createRound();
        vm.expectEmit(address(qf));
        emit FundingRounds.ProjectApplied(roundId, 1, modelId, address(0));
        uint256 model = _applyModel(roundId, creator, modelId);
        address lab = makeAddr("lab");
        vm.expectEmit(address(qf));
        emit FundingRounds.ProjectApplied(roundId, 2, 0, lab);
        uint256 team = _applyAddress(roundId, lab);
        assertEq(model, 1);
        assertEq(team, 2);
        assertEq(qf.getRound(roundId).projectCount, 2);
        assertEq(qf.projectIdOfModel(roundId, modelId), 1);
        assertEq(qf.projectIdOfRecipient(roundId, lab), 2);
        assertEq(qf.recipientOf(roundId, model), creator);
        assertEq(qf.recipientOf(roundId, team), lab);
    }

    function test_applyProject_revertsForAModelTheCallerDoesNotOwn() public {
        uint256 roundId = _createRound();
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.NotModelOwner.selector, modelId, stranger));
        qf.applyProject(roundId, modelId);
    }

    function test_applyProject_revertsForAModelThatDoesNotExist() public {
        uint256 roundId = _createRound();
        vm.prank(creator);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.ModelNotFound.selector, 99));
        qf.applyProject(roundId, 99);
    }

    function test_applyProject_revertsWhenAppliedTwice() public {
        uint256 roundId = _createRound();
        _applyModel(roundId, creator, modelId);
        _applyAddress(roundId, creator);
        vm.prank(creator);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.AlreadyApplied.selector, roundId, 1));
        qf.applyProject(roundId, modelId);
        vm.prank(creator);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.AlreadyApplied.selector, roundId, 2));
        qf.applyProject(roundId, 0);
    }

    function test_applyProject_revertsOutsideTheApplicationWindow() public {
        QuadraticFunding.RoundParams memory params = _params();
        uint64 t = uint64(block.timestamp);
        (params.applicationStart, params.applicationEnd, params.donationStart, params.donationEnd) =
            (t + 10, t + 20, t + 20, t + 30);
        uint256 roundId = _createRound(params);
        vm.prank(creator);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.ApplicationWindowClosed.selector, roundId, t, t + 10, t + 20));
        qf.applyProject(roundId, modelId);
        vm.warp(t + 20); // the end is excluded
        vm.prank(creator);
        vm.expectRevert(
            abi.encodeWithSelector(FundingRounds.ApplicationWindowClosed.selector, roundId, t + 20, t + 10, t + 20)
        );
        qf.applyProject(roundId, modelId);
        vm.warp(t + 19); // the last second is in
        _applyModel(roundId, creator, modelId);
    }

    function test_applyProject_revertsForARoundThatDoesNotExist() public {
        vm.prank(creator);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.RoundNotFound.selector, 7));
        qf.applyProject(7, modelId);
    }

    function test_applyProject_revertsWhenTheRoundIsFull() public {
        uint256 roundId = _createRound();
        uint256 max = qf.MAX_PROJECTS();
        for (uint256 i; i < max; ++i) {
            _applyAddress(roundId, address(uint160(0x10000 + i)));
        }
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.RoundFull.selector, roundId, max));
        _applyAddress(roundId, stranger);
    }

    // ------------------------------------------------------------ rejectProject

    function test_rejectProject_refusesDonationsAndGivesNoMatch() public {
        uint256 roundId = _createRound();
        uint256 spam = _applyAddress(roundId, makeAddr("spam"));
        uint256 real = _applyModel(roundId, creator, modelId);
        vm.prank(operator);
        qf.rejectProject(roundId, spam);
        assertTrue(qf.getProject(roundId, spam).rejected, "visible as rejected");
        usd.mint(stranger, 1e6);
        vm.startPrank(stranger);
        usd.approve(address(qf), 1e6);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.ProjectRejected.selector, roundId, spam));
        qf.donate(roundId, spam, 1e6);
        vm.stopPrank();
        _donate(roundId, real, _newDonor(), 1e6);
        _donate(roundId, real, _newDonor(), 1e6);
        _fundPool(roundId, 10e6);
        _finalize(roundId);
        (uint256 d,) = qf.matchOf(roundId, real);
        assertEq(d, 10e6, "the one remaining project takes the whole pool");
    }

    function test_rejectProject_revertsForAnyoneButTheOperator() public {
        uint256 roundId = _createRound();
        uint256 projectId = _applyModel(roundId, creator, modelId);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.NotOperator.selector, roundId, stranger));
        qf.rejectProject(roundId, projectId);
    }

    function test_rejectProject_revertsOnceAProjectHasDonations() public {
        uint256 roundId = _createRound();
        uint256 projectId = _applyModel(roundId, creator, modelId);
        _donate(roundId, projectId, _newDonor(), 1);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.ProjectHasContributions.selector, roundId, projectId));
        qf.rejectProject(roundId, projectId);
    }

    // ------------------------------------------------------------ donate

    function test_donate_updatesTheProjectsMatchingInputs() public {
        uint256 roundId = _createRound();
        uint256 projectId = _applyModel(roundId, creator, modelId);
        address alice = _newDonor();
        usd.mint(alice, 4e6);
        vm.startPrank(alice);
        usd.approve(address(qf), 4e6);
        vm.expectEmit(address(qf));
        emit FundingRounds.Donated(roundId, projectId, alice, bytes32(uint256(uint160(alice))), 4e6, 4e6);
        qf.donate(roundId, projectId, 4e6);
        vm.stopPrank();
        _donate(roundId, projectId, _newDonor(), 9e6);
        QuadraticFunding.Project memory project = qf.getProject(roundId, projectId);
        // sqrt(4e6 * 1e18) + sqrt(9e6 * 1e18) = 2e12 + 3e12
        assertEq(project.donations.sqrtSum, 5e12);
        assertEq(project.donations.counted, 13e6);
        assertEq(project.donations.amount, 13e6);
        assertEq(project.donations.contributors, 2);
        // (2 + 3)^2 - (4 + 9) = 12 (millions): what CLR would add
        assertEq(qf.weightOf(project.donations.sqrtSum, project.donations.counted), 12e6);
        assertEq(qf.getRound(roundId).donationWeight, 12e6);
        assertEq(_held(), 13e6);
    }

    function test_donate_keepsEachDonorsTotalSoRepeatDonationsStayExact() public {
        uint256 roundId = _createRound();
        uint256 projectId = _applyModel(roundId, creator, modelId);
        address alice = _newDonor();
        _donate(roundId, projectId, alice, 1e6);
        _donate(roundId, projectId, alice, 3e6);
        QuadraticFunding.Project memory project = qf.getProject(roundId, projectId);
        assertEq(project.donations.sqrtSum, 2e12, "sqrt of the total, not the sum of sqrts of each gift");
        assertEq(project.donations.contributors, 1);
        assertEq(qf.donationOf(roundId, projectId, bytes32(uint256(uint160(alice)))), 4e6);
        assertEq(qf.getRound(roundId).donationWeight, 0, "one donor alone gets no match");
    }

    function testFuzz_donate_splittingOnesGiftsChangesNothing(uint256 total, uint8 parts, uint256 seed) public {
        total = bound(total, 1, 1e30);
        parts = uint8(bound(parts, 1, 20));
        uint256 roundId = _createRound();
        uint256 split = _applyModel(roundId, creator, modelId);
        uint256 whole = _applyModel(roundId, creator2, modelId2);
        address donor = _newDonor();
        address other = _newDonor();
        uint256 left = total;
        for (uint256 i; i < parts && left != 0; ++i) {
            uint256 gift = i + 1 == parts ? left : bound(uint256(keccak256(abi.encode(seed, i))), 1, left);
            _donate(roundId, split, donor, gift);
            left -= gift;
        }
        if (left != 0) _donate(roundId, split, donor, left);
        _donate(roundId, whole, donor, total);
        _donate(roundId, split, other, 7);
        _donate(roundId, whole, other, 7);
        QuadraticFunding.Project memory a = qf.getProject(roundId, split);
        QuadraticFunding.Project memory b = qf.getProject(roundId, whole);
        assertEq(a.donations.sqrtSum, b.donations.sqrtSum, "same sqrt sum");
        assertEq(a.donations.counted, b.donations.counted, "same counted");
        assertEq(a.donations.contributors, 2);
    }

    function test_donate_revertsOnZeroAmount() public {
        uint256 roundId = _createRound();
        uint256 projectId = _applyModel(roundId, creator, modelId);
        vm.prank(stranger);
        vm.expectRevert(FundingRounds.ZeroAmount.selector);
        qf.donate(roundId, projectId, 0);
    }

    function test_donate_revertsForAProjectNotInTheRound() public {
        uint256 roundId = _createRound();
        uint256 other = _createRound();
        _applyModel(other, creator, modelId);
        _applyModel(other, creator2, modelId2);
        _applyModel(roundId, creator, modelId);
        usd.mint(stranger, 10);
        vm.startPrank(stranger);
        usd.approve(address(qf), 10);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.ProjectNotInRound.selector, roundId, 0));
        qf.donate(roundId, 0, 1);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.ProjectNotInRound.selector, roundId, 2));
        qf.donate(roundId, 2, 1); // project 2 exists, but in the other round
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.RoundNotFound.selector, 9));
        qf.donate(9, 1, 1);
        vm.stopPrank();
        assertEq(usd.balanceOf(stranger), 10, "no token moved");
    }

    function test_donate_boundary_lastSecondInEndOut() public {
        uint256 roundId = _createRound();
        uint256 projectId = _applyModel(roundId, creator, modelId);
        uint64 end = qf.getRound(roundId).donationEnd;
        vm.warp(end - 1);
        _donate(roundId, projectId, _newDonor(), 1e6);
        vm.warp(end);
        address late = _newDonor();
        usd.mint(late, 1e6);
        vm.startPrank(late);
        usd.approve(address(qf), 1e6);
        vm.expectRevert(
            abi.encodeWithSelector(FundingRounds.DonationWindowClosed.selector, roundId, end, end - ROUND_LENGTH, end)
        );
        qf.donate(roundId, projectId, 1e6);
        vm.warp(end + 1 days);
        vm.expectRevert(
            abi.encodeWithSelector(
                FundingRounds.DonationWindowClosed.selector, roundId, end + 1 days, end - ROUND_LENGTH, end
            )
        );
        qf.donate(roundId, projectId, 1e6);
        vm.stopPrank();
        assertEq(usd.balanceOf(late), 1e6);
    }

    function test_donate_revertsBeforeTheWindowOpens() public {
        QuadraticFunding.RoundParams memory params = _params();
        uint64 t = uint64(block.timestamp);
        params.donationStart = t + 1 days;
        uint256 roundId = _createRound(params);
        uint256 projectId = _applyModel(roundId, creator, modelId);
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(FundingRounds.DonationWindowClosed.selector, roundId, t, t + 1 days, t + ROUND_LENGTH)
        );
        qf.donate(roundId, projectId, 1);
    }

    function test_donate_creditsWhatArrivesFromAFeeOnTransferToken() public {
        FeeOnTransferToken feeToken = new FeeOnTransferToken(100); // 1% burned per transfer
        QuadraticFunding.RoundParams memory params = _params();
        params.token = IERC20(address(feeToken));
        uint256 roundId = _createRound(params);
        uint256 projectId = _applyModel(roundId, creator, modelId);
        address donor = _newDonor();
        feeToken.mint(donor, 1000);
        vm.startPrank(donor);
        feeToken.approve(address(qf), 1000);
        uint256 received = qf.donate(roundId, projectId, 1000);
        vm.stopPrank();
        assertEq(received, 990);
        assertEq(qf.getProject(roundId, projectId).donations.amount, 990);
        assertEq(feeToken.balanceOf(address(qf)), 990, "books equal what is held");

        // Paid out in full from the books: the contract's balance drops by exactly what it owes.
        _endRound(roundId);
        qf.finalize(roundId);
        vm.prank(creator);
        qf.claim(roundId, projectId, creator);
        assertEq(feeToken.balanceOf(address(qf)), 0, "nothing stuck");
        assertEq(feeToken.balanceOf(creator), 990 - 9, "the token's own fee on the way out");
    }

    function test_donate_refusesATotalAboveTheAccountedRange() public {
        uint256 roundId = _createRound();
        uint256 projectId = _applyModel(roundId, creator, modelId);
        address whale = _newDonor();
        uint256 max = type(uint128).max;
        _donate(roundId, projectId, whale, max);
        usd.mint(whale, 1);
        vm.startPrank(whale);
        usd.approve(address(qf), 1);
        vm.expectRevert(abi.encodeWithSelector(Tallies.AmountTooLarge.selector, max + 1, max));
        qf.donate(roundId, projectId, 1);
        vm.stopPrank();
    }

    function test_donate_donorCapLimitsWeightButNotWhatTheProjectReceives() public {
        QuadraticFunding.RoundParams memory params = _params();
        params.donorCap = 4e6;
        uint256 roundId = _createRound(params);
        uint256 projectId = _applyModel(roundId, creator, modelId);
        _donate(roundId, projectId, _newDonor(), 100e6);
        _donate(roundId, projectId, _newDonor(), 1e6);
        QuadraticFunding.Project memory project = qf.getProject(roundId, projectId);
        assertEq(project.donations.amount, 101e6, "the project receives every donation");
        assertEq(project.donations.counted, 5e6, "the whale counts as 4");
        assertEq(project.donations.sqrtSum, 3e12, "sqrt(4) + sqrt(1)");
        assertEq(qf.getRound(roundId).donationWeight, 4e6, "(2 + 1)^2 - 5");
    }

    // ------------------------------------------------------------ fundPool

    function test_fundPool_addsWhatArrives() public {
        uint256 roundId = _createRound();
        address funder = makeAddr("funder");
        usd.mint(funder, 5e6);
        vm.startPrank(funder);
        usd.approve(address(qf), 5e6);
        vm.expectEmit(address(qf));
        emit FundingRounds.PoolFunded(roundId, funder, 5e6, 5e6);
        qf.fundPool(roundId, 5e6);
        vm.expectRevert(FundingRounds.ZeroAmount.selector);
        qf.fundPool(roundId, 0);
        vm.stopPrank();
        assertEq(qf.getRound(roundId).pool, 5e6);
    }

    function test_fundPool_revertsOnceFinalized() public {
        uint256 roundId = _createRound();
        _fundPool(roundId, 1e6);
        _finalize(roundId);
        address funder = makeAddr("lateFunder");
        usd.mint(funder, 1e6);
        vm.startPrank(funder);
        usd.approve(address(qf), 1e6);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.RoundAlreadyFinalized.selector, roundId));
        qf.fundPool(roundId, 1e6);
        vm.stopPrank();
        assertEq(qf.getRound(roundId).pool, 1e6, "the pool is fixed at finalization");
    }

    // ------------------------------------------------------------ finalize and claim

    /// @dev The textbook example: a project with many small donors beats one with a single large
    ///      donor, with exact figures.
    function test_finalize_matchesInProportionToCLRWeight() public {
        uint256 roundId = _createRound();
        uint256 broad = _applyModel(roundId, creator, modelId);
        uint256 narrow = _applyModel(roundId, creator2, modelId2);
        for (uint256 i; i < 4; ++i) {
            _donate(roundId, broad, _newDonor(), 1e6); // 4 donors of 1: weight (4)^2 - 4 = 12
        }
        _donate(roundId, narrow, _newDonor(), 9e6); // 2 donors: 9 and 4: weight (3 + 2)^2 - 13 = 12
        _donate(roundId, narrow, _newDonor(), 4e6);
        _donate(roundId, narrow, _newDonor(), 0.25e6); // and a third of 0.25: (3.5)^2 + ... see below
        _fundPool(roundId, 1000e6);
        // narrow: sqrt sums 3 + 2 + 0.5 = 5.5 (x 1e12), squared 30.25, minus 13.25 = 17
        assertEq(qf.getRound(roundId).donationWeight, 12e6 + 17e6);

        _endRound(roundId);
        vm.expectEmit(address(qf));
        uint256 broadMatch = uint256(1000e6) * 12 / 29; // 413_793_103.4 -> floored
        uint256 narrowMatch = uint256(1000e6) * 17 / 29; // 586_206_896.5 -> floored
        emit FundingRounds.RoundFinalized(
            roundId, 1000e6, 1000e6, 0, broadMatch + narrowMatch, 1000e6 - broadMatch - narrowMatch
        );
        qf.finalize(roundId);
        (uint256 d1, uint256 u1) = qf.matchOf(roundId, broad);
        (uint256 d2,) = qf.matchOf(roundId, narrow);
        assertEq(d1, broadMatch);
        assertEq(d2, narrowMatch);
        assertEq(u1, 0);
        assertEq(qf.getRound(roundId).unallocated, 1, "one unit of rounding dust");

        vm.expectEmit(address(qf));
        emit FundingRounds.Claimed(roundId, broad, creator, creator, 4e6, broadMatch, 0);
        vm.prank(creator);
        qf.claim(roundId, broad, creator);
        assertEq(usd.balanceOf(creator), 4e6 + broadMatch);
    }

    function test_finalize_revertsBeforeTheDonationWindowEnds() public {
        uint256 roundId = _createRound();
        uint64 end = qf.getRound(roundId).donationEnd;
        vm.warp(end - 1);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.RoundNotEnded.selector, roundId, end, end - 1));
        qf.finalize(roundId);
        vm.warp(end);
        qf.finalize(roundId); // allowed from the end on, by anyone
    }

    function test_finalize_revertsTheSecondTime() public {
        uint256 roundId = _createRound();
        _fundPool(roundId, 1e6);
        _finalize(roundId);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.RoundAlreadyFinalized.selector, roundId));
        qf.finalize(roundId);
    }

    function test_finalize_anEmptyPoolLetsProjectsClaimTheirDonations() public {
        uint256 roundId = _createRound();
        uint256 projectId = _applyModel(roundId, creator, modelId);
        _donate(roundId, projectId, _newDonor(), 3e6);
        _donate(roundId, projectId, _newDonor(), 5e6);
        assertEq(_finalize(roundId), 0);
        (uint256 d, uint256 u) = qf.matchOf(roundId, projectId);
        assertEq(d + u, 0);
        vm.prank(creator);
        assertEq(qf.claim(roundId, projectId, creator), 8e6);
        assertEq(_held(), 0);
    }

    function test_finalize_withNoDonationsLeavesThePoolUnallocatedForTheOperator() public {
        uint256 roundId = _createRound();
        _applyModel(roundId, creator, modelId);
        _fundPool(roundId, 7e6);
        assertEq(_finalize(roundId), 0);
        assertEq(qf.getRound(roundId).unallocated, 7e6);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.NotOperator.selector, roundId, stranger));
        qf.withdrawUnallocated(roundId, stranger);
        vm.prank(operator);
        assertEq(qf.withdrawUnallocated(roundId, operator), 7e6);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.NothingUnallocated.selector, roundId));
        qf.withdrawUnallocated(roundId, operator);
        assertEq(_held(), 0);
    }

    function test_withdrawUnallocated_revertsBeforeFinalization() public {
        uint256 roundId = _createRound();
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.RoundNotFinalized.selector, roundId));
        qf.withdrawUnallocated(roundId, operator);
    }

    function test_finalize_capsEachProjectsMatch() public {
        QuadraticFunding.RoundParams memory params = _params();
        params.matchingCapBps = 5000; // at most half the pool per project
        uint256 roundId = _createRound(params);
        uint256 big = _applyModel(roundId, creator, modelId);
        uint256 small = _applyModel(roundId, creator2, modelId2);
        for (uint256 i; i < 9; ++i) {
            _donate(roundId, big, _newDonor(), 1e6); // weight 72
        }
        _donate(roundId, small, _newDonor(), 1e6);
        _donate(roundId, small, _newDonor(), 1e6); // weight 2
        _fundPool(roundId, 100e6);
        _finalize(roundId);
        (uint256 bigMatch,) = qf.matchOf(roundId, big);
        (uint256 smallMatch,) = qf.matchOf(roundId, small);
        assertEq(bigMatch, 50e6, "capped at half (uncapped it would be 97.3)");
        assertEq(smallMatch, uint256(100e6) * 2 / 74);
        assertEq(qf.getRound(roundId).unallocated, 100e6 - bigMatch - smallMatch);
    }

    function test_claim_revertsForSomeoneElse() public {
        (uint256 roundId, uint256 projectId) = _finalizedRoundWithOneProject();
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.NotProjectRecipient.selector, roundId, projectId, stranger));
        qf.claim(roundId, projectId, stranger);
        // nor may the round's operator claim for the project
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.NotProjectRecipient.selector, roundId, projectId, operator));
        qf.claim(roundId, projectId, operator);
    }

    function test_claim_revertsTheSecondTime() public {
        (uint256 roundId, uint256 projectId) = _finalizedRoundWithOneProject();
        vm.prank(creator);
        uint256 paid = qf.claim(roundId, projectId, creator);
        vm.prank(creator);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.AlreadyClaimed.selector, roundId, projectId));
        qf.claim(roundId, projectId, creator);
        assertEq(usd.balanceOf(creator), paid);
    }

    function test_claim_revertsBeforeFinalization() public {
        uint256 roundId = _createRound();
        uint256 projectId = _applyModel(roundId, creator, modelId);
        _donate(roundId, projectId, _newDonor(), 1);
        vm.prank(creator);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.RoundNotFinalized.selector, roundId));
        qf.claim(roundId, projectId, creator);
    }

    function test_claim_revertsWithNothingToClaimOrToTheZeroAddress() public {
        uint256 roundId = _createRound();
        uint256 projectId = _applyModel(roundId, creator, modelId);
        _finalize(roundId);
        vm.prank(creator);
        vm.expectRevert(FundingRounds.ZeroRecipient.selector);
        qf.claim(roundId, projectId, address(0));
        vm.prank(creator);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.NothingToClaim.selector, roundId, projectId));
        qf.claim(roundId, projectId, creator);
    }

    function test_claim_paysWhoeverOwnsTheModelTokenNow() public {
        (uint256 roundId, uint256 projectId) = _finalizedRoundWithOneProject();
        address buyer = makeAddr("buyer");
        vm.prank(creator);
        models.transferFrom(creator, buyer, modelId);
        vm.prank(creator);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.NotProjectRecipient.selector, roundId, projectId, creator));
        qf.claim(roundId, projectId, creator);
        vm.prank(buyer);
        uint256 paid = qf.claim(roundId, projectId, buyer);
        assertEq(usd.balanceOf(buyer), paid);
        assertGt(paid, 0, "paid");
    }

    /// @notice Random rounds: every project claims, the operator withdraws the rest, and the
    ///         tokens paid out equal the pool plus the donations exactly; the matches never exceed
    ///         the pool, and without a cap the dust left is under one unit per project.
    function testFuzz_finalize_paysOutExactlyPoolPlusDonations(
        uint256 pool,
        uint16 capBps,
        uint8 projectCount,
        uint256 seed
    ) public {
        pool = bound(pool, 0, 1e30);
        capBps = uint16(bound(capBps, 1, 10_000));
        projectCount = uint8(bound(projectCount, 1, 12));
        QuadraticFunding.RoundParams memory params = _params();
        params.matchingCapBps = capBps;
        uint256 roundId = _createRound(params);
        for (uint256 p; p < projectCount; ++p) {
            _applyAddress(roundId, address(uint160(0xA0000 + p)));
        }
        uint256 donated;
        for (uint256 i; i < 40; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            uint256 projectId = r % projectCount + 1;
            address donor = address(uint160(0xD0000 + (r >> 8) % 10));
            uint256 amount = bound(r >> 16, 1, 1e24);
            donated += _donate(roundId, projectId, donor, amount);
        }
        if (pool != 0) _fundPool(roundId, pool);
        uint256 allocated = _finalize(roundId);
        assertLe(allocated, pool, "never more than the pool");

        uint256 paid;
        uint256 matches;
        for (uint256 p; p < projectCount; ++p) {
            address recipient = address(uint160(0xA0000 + p));
            (uint256 d, uint256 u) = qf.matchOf(roundId, p + 1);
            matches += d + u;
            if (qf.getProject(roundId, p + 1).donations.amount + d + u == 0) continue;
            vm.prank(recipient);
            paid += qf.claim(roundId, p + 1, recipient);
        }
        assertEq(matches, allocated, "finalization's total equals the sum of claims' matches");
        uint256 unallocated = qf.getRound(roundId).unallocated;
        assertEq(unallocated, pool - allocated);
        if (capBps == 10_000 && qf.getRound(roundId).donationWeight != 0) {
            assertLt(unallocated, projectCount, "rounding dust under one unit per project");
        }
        if (unallocated != 0) {
            vm.prank(operator);
            paid += qf.withdrawUnallocated(roundId, operator);
        }
        assertEq(paid, pool + donated, "paid out == pool + donations");
        assertEq(_held(), 0, "nothing left behind");
    }

    /// @notice The contract's running sums equal the weights recomputed from scratch from every
    ///         donor's total, and each match equals pool * weight / total weight, floored.
    function testFuzz_donate_runningSumsEqualARecomputation(uint256 seed, uint128 donorCap) public {
        donorCap = uint128(bound(donorCap, 0, 1e12));
        QuadraticFunding.RoundParams memory params = _params();
        params.donorCap = donorCap;
        uint256 roundId = _createRound(params);
        uint256 projects = 3;
        uint256 donors = 5;
        for (uint256 p; p < projects; ++p) {
            _applyAddress(roundId, address(uint160(0xA0000 + p)));
        }
        uint256[][] memory totals = new uint256[][](projects);
        for (uint256 p; p < projects; ++p) {
            totals[p] = new uint256[](donors);
        }
        for (uint256 i; i < 30; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            uint256 p = r % projects;
            uint256 d = (r >> 8) % donors;
            uint256 amount = bound(r >> 16, 1, 1e13);
            _donate(roundId, p + 1, address(uint160(0xD0000 + d)), amount);
            totals[p][d] += amount;
        }
        uint256 totalWeight;
        uint256[] memory weights = new uint256[](projects);
        for (uint256 p; p < projects; ++p) {
            weights[p] = _weightFromTotals(totals[p], donorCap);
            QuadraticFunding.Project memory project = qf.getProject(roundId, p + 1);
            assertEq(qf.weightOf(project.donations.sqrtSum, project.donations.counted), weights[p], "weight");
            totalWeight += weights[p];
        }
        assertEq(qf.getRound(roundId).donationWeight, totalWeight, "round weight");
        _fundPool(roundId, 1e12);
        _finalize(roundId);
        for (uint256 p; p < projects; ++p) {
            (uint256 d,) = qf.matchOf(roundId, p + 1);
            assertEq(d, totalWeight == 0 ? 0 : uint256(1e12) * weights[p] / totalWeight, "match");
        }
    }

    // ------------------------------------------------------------ helpers

    /// @dev A finalized round with one model project (creator's), two donors and a pool.
    function _finalizedRoundWithOneProject() internal returns (uint256 roundId, uint256 projectId) {
        roundId = _createRound();
        projectId = _applyModel(roundId, creator, modelId);
        _donate(roundId, projectId, _newDonor(), 1e6);
        _donate(roundId, projectId, _newDonor(), 2e6);
        _fundPool(roundId, 10e6);
        _finalize(roundId);
    }
}
