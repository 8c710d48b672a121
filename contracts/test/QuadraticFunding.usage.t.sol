// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {FundingFixture} from "./utils/FundingFixture.sol";
import {QuadraticFunding} from "../src/QuadraticFunding.sol";
import {FundingRounds} from "../src/funding/FundingRounds.sol";
import {UsageRecording} from "../src/funding/UsageRecording.sol";

/// @notice Paid usage as a matching signal: usage read from PaymentChannels, credited to the
///         channel's sender as payer, each paid base unit counted once, and the pool split between
///         donations and usage by the operator's weight.
contract QuadraticFundingUsageTest is FundingFixture {
    uint256 internal roundId;
    uint256 internal projectA; // modelId, creator
    uint256 internal projectB; // modelId2, creator2

    function setUp() public override {
        super.setUp();
        QuadraticFunding.RoundParams memory params = _params();
        params.usageWeightBps = 4000;
        roundId = _createRound(params);
        projectA = _applyModel(roundId, creator, modelId);
        projectB = _applyModel(roundId, creator2, modelId2);
    }

    /// @dev The n-th payer and its key.
    function _payer(uint256 n) internal returns (address account, uint256 key) {
        return makeAddrAndKey(string.concat("payer", vm.toString(n)));
    }

    /// @dev Records the given channel for the round.
    function _record(bytes32 channelId) internal returns (uint256) {
        bytes32[] memory ids = new bytes32[](1);
        ids[0] = channelId;
        return qf.recordUsage(roundId, ids);
    }

    function test_recordUsage_creditsTheChannelSenderOnceForEachPaidUnit() public {
        (address payer, uint256 key) = _payer(1);
        bytes32 channelId = _payInference(payer, key, modelId, 4e6);
        vm.expectEmit(address(qf));
        emit UsageRecording.UsageRecorded(roundId, projectA, channelId, payer, bytes32(uint256(uint160(payer))), 4e6);
        assertEq(_record(channelId), 4e6);
        assertEq(_record(channelId), 0, "the same redeemed amount never counts twice");
        _payInference(payer, key, modelId, 5e6);
        assertEq(_record(channelId), 5e6, "only the increase counts");
        assertEq(qf.usageOf(roundId, projectA, bytes32(uint256(uint160(payer)))), 9e6);
        QuadraticFunding.Project memory project = qf.getProject(roundId, projectA);
        assertEq(project.usage.amount, 9e6);
        assertEq(project.usage.contributors, 1);
        assertEq(project.usage.sqrtSum, 3e12);
        assertEq(qf.usageSeen(channelId, 0), 9e6);
    }

    function test_recordUsage_countsANewEpochFromItsStart() public {
        (address payer, uint256 key) = _payer(1);
        bytes32 channelId = _payInference(payer, key, modelId, 4e6);
        _record(channelId);
        vm.prank(payer);
        channels.startClose(channelId);
        vm.warp(block.timestamp + CHALLENGE_PERIOD);
        vm.prank(payer);
        channels.withdraw(channelId); // epoch 1, redeemed back to 0
        _payInference(payer, key, modelId, 1e6);
        assertEq(_record(channelId), 1e6);
        assertEq(qf.usageOf(roundId, projectA, bytes32(uint256(uint160(payer)))), 5e6);
    }

    function test_recordUsage_leavesChannelsOfModelsOutsideTheRoundUncounted() public {
        uint256 otherModel = _registerOfferedModel(makeAddr("creator3"), ROYALTY_BPS);
        (address payer, uint256 key) = _payer(1);
        bytes32 channelId = _payInference(payer, key, otherModel, 4e6);
        assertEq(_record(channelId), 0);
        assertEq(qf.usageSeen(channelId, 0), 0, "left for a round the model is in");
        assertEq(_record(keccak256("no such channel")), 0);
    }

    function test_recordUsage_revertsWhenTheRoundDoesNotWeighUsage() public {
        uint256 plain = _createRound();
        bytes32[] memory ids = new bytes32[](0);
        vm.expectRevert(abi.encodeWithSelector(UsageRecording.UsageNotWeighed.selector, plain));
        qf.recordUsage(plain, ids);
    }

    function test_recordUsage_revertsBeforeDonationsOpenAndAfterFinalization() public {
        QuadraticFunding.RoundParams memory params = _params();
        params.usageWeightBps = 1;
        uint64 t = uint64(block.timestamp);
        params.donationStart = t + 1 days;
        uint256 later = _createRound(params);
        bytes32[] memory ids = new bytes32[](0);
        vm.expectRevert(abi.encodeWithSelector(UsageRecording.UsageNotOpen.selector, later, t + 1 days, t));
        qf.recordUsage(later, ids);
        _finalize(later);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.RoundAlreadyFinalized.selector, later));
        qf.recordUsage(later, ids);
    }

    function test_pendingUsage_equalsWhatRecordingCounts() public {
        (address payer, uint256 key) = _payer(1);
        bytes32 channelId = _payInference(payer, key, modelId2, 7e6);
        (uint256 projectId, bytes32 payerKey, uint256 amount) = qf.pendingUsage(roundId, channelId);
        assertEq(projectId, projectB);
        assertEq(payerKey, bytes32(uint256(uint160(payer))));
        assertEq(amount, 7e6);
        assertEq(_record(channelId), amount);
        (,, amount) = qf.pendingUsage(roundId, channelId);
        assertEq(amount, 0);
    }

    /// @notice The pool splits 60/40 between donations and usage; each part goes by its own CLR
    ///         weights, and both parts are shown.
    function test_finalize_splitsThePoolBetweenDonationsAndUsage() public {
        // Donations: A has 4 donors of 1 (weight 12), B has 1 donor (weight 0).
        for (uint256 i; i < 4; ++i) {
            _donate(roundId, projectA, _newDonor(), 1e6);
        }
        _donate(roundId, projectB, _newDonor(), 50e6);
        // Usage: B is used by 3 payers of 1 each (weight 6), A by one heavy payer (weight 0).
        bytes32[] memory ids = new bytes32[](4);
        for (uint256 i; i < 3; ++i) {
            (address payer, uint256 key) = _payer(i);
            ids[i] = _payInference(payer, key, modelId2, 1e6);
        }
        (address heavy, uint256 heavyKey) = _payer(9);
        ids[3] = _payInference(heavy, heavyKey, modelId, 500e6);
        qf.recordUsage(roundId, ids);
        _fundPool(roundId, 100e6);
        _finalize(roundId);

        QuadraticFunding.Round memory round = qf.getRound(roundId);
        assertEq(round.usagePool, 40e6);
        assertEq(round.donationPool, 60e6);
        (uint256 dA, uint256 uA) = qf.matchOf(roundId, projectA);
        (uint256 dB, uint256 uB) = qf.matchOf(roundId, projectB);
        assertEq(dA, 60e6, "all of the donation part");
        assertEq(uA, 0, "one payer, however heavy, adds no usage weight");
        assertEq(dB, 0);
        assertEq(uB, 40e6, "all of the usage part");
        vm.prank(creator2);
        assertEq(qf.claim(roundId, projectB, creator2), 50e6 + 40e6);
    }

    function test_finalize_withoutUsageDonationsTakeTheWholePool() public {
        _donate(roundId, projectA, _newDonor(), 1e6);
        _donate(roundId, projectA, _newDonor(), 1e6);
        _fundPool(roundId, 10e6);
        _finalize(roundId);
        (uint256 d, uint256 u) = qf.matchOf(roundId, projectA);
        assertEq(d, 10e6);
        assertEq(u, 0);
    }

    function test_finalize_withoutDonationsUsageTakesTheWholePool() public {
        bytes32[] memory ids = new bytes32[](2);
        for (uint256 i; i < 2; ++i) {
            (address payer, uint256 key) = _payer(i);
            ids[i] = _payInference(payer, key, modelId, 1e6);
        }
        qf.recordUsage(roundId, ids);
        _fundPool(roundId, 10e6);
        _finalize(roundId);
        (uint256 d, uint256 u) = qf.matchOf(roundId, projectA);
        assertEq(d, 0);
        assertEq(u, 10e6);
    }

    function test_recordUsage_withAttestationRequiredCountsOnlyAttestedPayersUnderTheirIdentity() public {
        QuadraticFunding.RoundParams memory params = _attestedParams();
        params.usageWeightBps = 10_000;
        uint256 gated = _createRound(params);
        uint256 projectId = _applyModel(gated, creator, modelId);
        (address alice, uint256 aliceKey) = _payer(1);
        (address bob, uint256 bobKey) = _payer(2);
        vm.prank(issuer);
        attestations.attest(alice, keccak256("alice"), 0);
        bytes32 aliceChannel = _payInference(alice, aliceKey, modelId, 4e6);
        bytes32 bobChannel = _payInference(bob, bobKey, modelId, 4e6);
        bytes32[] memory ids = new bytes32[](2);
        (ids[0], ids[1]) = (aliceChannel, bobChannel);
        assertEq(qf.recordUsage(gated, ids), 4e6, "only alice's usage counts");
        bytes32 aliceIdentity = keccak256(abi.encode(issuer, keccak256("alice")));
        assertEq(qf.usageOf(gated, projectId, aliceIdentity), 4e6);
        assertEq(qf.usageSeen(bobChannel, 0), 0, "bob's usage stays uncounted, not consumed");
        vm.prank(issuer);
        attestations.attest(bob, keccak256("bob"), 0);
        assertEq(qf.recordUsage(gated, ids), 4e6, "counted once bob is attested");
    }
}
