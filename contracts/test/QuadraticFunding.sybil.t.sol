// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {FundingFixture} from "./utils/FundingFixture.sol";
import {QuadraticFunding} from "../src/QuadraticFunding.sol";
import {FundingRounds} from "../src/funding/FundingRounds.sol";

/// @notice What one donor gains by splitting their donation over many accounts: everything, when a
///         round requires no identity; nothing, when it requires an attestation. Run with `-vv` to
///         see the figures (they are also asserted).
///
///         The scene: an honest project with 10 donors of 10 tokens each, and an attacker's project
///         whose owner puts in 100 tokens, either from one account or split over 100 accounts of 1.
///         The matching pool is 1,000 tokens.
contract QuadraticFundingSybilTest is FundingFixture {
    /// @dev Forge prints these in a test's logs.
    event log_named_uint(string key, uint256 val);

    uint256 internal constant POOL = 1000e6;
    uint256 internal constant ATTACK = 100e6;
    uint256 internal constant SPLIT = 100;

    /// @dev Runs the scene; returns the attacker project's match. `split` spreads the attacker's
    ///      donation over `SPLIT` fresh accounts; with `gated`, the round requires an attestation by
    ///      `issuer` and every honest donor is attested (the attacker only for its main account).
    function _scene(bool gated, bool split) internal returns (uint256 attackerMatch, uint256 honestMatch) {
        uint256 roundId = _createRound(gated ? _attestedParams() : _params());
        uint256 honest = _applyModel(roundId, creator, modelId);
        uint256 attacker = _applyModel(roundId, creator2, modelId2);
        for (uint256 i; i < 10; ++i) {
            address donor = _newDonor();
            if (gated) {
                vm.prank(issuer);
                attestations.attest(donor, keccak256(abi.encode("person", donor)), 0);
            }
            _donate(roundId, honest, donor, 10e6);
        }
        if (gated) {
            vm.prank(issuer);
            attestations.attest(creator2, keccak256("attacker"), 0);
        }
        if (!split) {
            _donate(roundId, attacker, creator2, ATTACK);
        } else {
            for (uint256 i; i < SPLIT; ++i) {
                address sybil = makeAddr(string.concat("sybil", vm.toString(i)));
                uint256 amount = ATTACK / SPLIT;
                usd.mint(sybil, amount);
                vm.startPrank(sybil);
                usd.approve(address(qf), amount);
                if (gated) {
                    vm.expectRevert(abi.encodeWithSelector(FundingRounds.DonorNotAttested.selector, roundId, sybil));
                    qf.donate(roundId, attacker, amount);
                    vm.stopPrank();
                    assertEq(usd.balanceOf(sybil), amount, "a refused donation moves no token");
                    // The attacker falls back to donating from its one attested account.
                    _donate(roundId, attacker, creator2, amount);
                } else {
                    qf.donate(roundId, attacker, amount);
                    vm.stopPrank();
                }
            }
        }
        _fundPool(roundId, POOL);
        _finalize(roundId);
        (attackerMatch,) = qf.matchOf(roundId, attacker);
        (honestMatch,) = qf.matchOf(roundId, honest);
    }

    /// @dev Runs the scene from the same starting state without, then with, the split.
    function _sceneWithAndWithoutSplit(bool gated)
        internal
        returns (uint256 single, uint256 honestVsSingle, uint256 split, uint256 honestVsSplit)
    {
        uint256 snapshot = vm.snapshotState();
        (single, honestVsSingle) = _scene(gated, false);
        vm.revertToState(snapshot);
        (split, honestVsSplit) = _scene(gated, true);
    }

    function test_sybil_withoutAttestation_splittingOverManyAccountsCapturesMostOfThePool() public {
        (uint256 single, uint256 honestVsSingle, uint256 split, uint256 honestVsSplit) =
            _sceneWithAndWithoutSplit(false);

        emit log_named_uint("no attestation, attacker donates 100 from 1 account: attacker's match", single);
        emit log_named_uint("no attestation, attacker donates 100 from 1 account: honest project's match", honestVsSingle);
        emit log_named_uint("no attestation, split over 100 accounts: attacker's match", split);
        emit log_named_uint("no attestation, split over 100 accounts: honest project's match", honestVsSplit);
        emit log_named_uint("gain from splitting (token base units)", split - single);

        // One donor's weight is (sqrt 100)^2 - 100 = 0; 100 accounts of 1 weigh (100 * 1)^2 - 100 = 9900,
        // against the honest project's (10 * sqrt 10)^2 - 100 = 900.
        uint256[] memory honestTotals = new uint256[](10);
        for (uint256 i; i < 10; ++i) {
            honestTotals[i] = 10e6;
        }
        uint256 honestWeight = _weightFromTotals(honestTotals, 0); // 900e6, less a unit of integer sqrt
        uint256 splitWeight = 9900e6;
        assertEq(single, 0, "one account: no match");
        assertEq(honestVsSingle, POOL, "the honest project takes the pool");
        assertEq(split, POOL * splitWeight / (splitWeight + honestWeight), "split: about 91.7% of the pool");
        assertEq(honestVsSplit, POOL * honestWeight / (splitWeight + honestWeight), "honest project: about 8.3%");
        assertGt(split, POOL * 916 / 1000, "more than 91.6% of the pool");
    }

    function test_sybil_withAttestation_splittingOver100UnattestedAccountsGainsNothing() public {
        (uint256 single, uint256 honestVsSingle, uint256 split, uint256 honestVsSplit) =
            _sceneWithAndWithoutSplit(true);

        emit log_named_uint("attestation required, 1 account: attacker's match", single);
        emit log_named_uint("attestation required, tried 100 unattested accounts: attacker's match", split);
        assertEq(split, single, "no gain");
        assertEq(split, 0);
        assertEq(honestVsSplit, honestVsSingle);
        assertEq(honestVsSplit, POOL);
    }

    /// @notice An issuer that gives one identity per person makes a person's several attested
    ///         accounts count as one donor.
    function test_sybil_accountsAttestedAsOnePersonCountAsOneDonor() public {
        uint256 roundId = _createRound(_attestedParams());
        uint256 projectId = _applyModel(roundId, creator2, modelId2);
        for (uint256 i; i < SPLIT; ++i) {
            address wallet = makeAddr(string.concat("wallet", vm.toString(i)));
            vm.prank(issuer);
            attestations.attest(wallet, keccak256("one person"), 0);
            _donate(roundId, projectId, wallet, ATTACK / SPLIT);
        }
        QuadraticFunding.Project memory project = qf.getProject(roundId, projectId);
        assertEq(project.donations.contributors, 1, "one donor");
        assertEq(project.donations.sqrtSum, 10e12, "sqrt of the 100 total, as from one account");
        assertEq(qf.getRound(roundId).donationWeight, 0);
        assertEq(
            qf.donationOf(roundId, projectId, keccak256(abi.encode(issuer, keccak256("one person")))), ATTACK
        );
    }

    /// @notice A donor weight cap bounds what splitting can gain even without identity: it does not
    ///         stop it (100 accounts under the cap are 100 capped donors), which is why it is a
    ///         complement to attestation, not a substitute.
    function test_sybil_donorCapAloneDoesNotStopSplitting() public {
        QuadraticFunding.RoundParams memory params = _params();
        params.donorCap = 1e6;
        uint256 roundId = _createRound(params);
        uint256 projectId = _applyModel(roundId, creator2, modelId2);
        for (uint256 i; i < SPLIT; ++i) {
            _donate(roundId, projectId, makeAddr(string.concat("sybil", vm.toString(i))), ATTACK / SPLIT);
        }
        assertEq(qf.getRound(roundId).donationWeight, 9900e6, "every 1-token account is under the cap");
    }

    function test_donate_revertsForAnUnattestedDonorWhenRequired() public {
        uint256 roundId = _createRound(_attestedParams());
        uint256 projectId = _applyModel(roundId, creator, modelId);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(FundingRounds.DonorNotAttested.selector, roundId, stranger));
        qf.donate(roundId, projectId, 1);
        // an expired attestation does not count
        vm.prank(issuer);
        attestations.attest(stranger, keccak256("s"), uint64(block.timestamp + 1));
        assertEq(qf.donorKeyOf(roundId, stranger), keccak256(abi.encode(issuer, keccak256("s"))));
        vm.warp(block.timestamp + 1);
        assertEq(qf.donorKeyOf(roundId, stranger), bytes32(0));
    }
}
