// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {FundingFixture} from "./utils/FundingFixture.sol";

/// @notice Gas of a donation (a project's first, a further donor's, a repeat), of finalizing a
///         round of 100 projects with two donors each and of a claim, as bench/fundingGas.ts measures
///         them on a node, with ceilings: the figures measured last (so no later change can make
///         them worse unnoticed). Each test is one fresh transaction after `setUp`, so every slot starts cold.
///         The figures are what the call costs as seen from the caller (the callee's execution, its
///         cold account access and the call itself), not a transaction's base and calldata gas.
///         Run with `-vv` to see them, and without `--isolate` (which `--gas-report` turns on: every
///         call then becomes a transaction of its own, and the figures include what a transaction adds).
contract QuadraticFundingGasTest is FundingFixture {
    /// @dev Forge prints these in a test's logs.
    event log_named_uint(string key, uint256 val);

    uint256 internal constant PROJECTS = 100;

    // Ceilings: the figures measured after issue 15's donation savings (solc 0.8.30, optimizer 200
    // runs, cancun, the TestToken with EIP-3009). Before them (after the split, the TestToken's
    // EIP-3009 dispatch and `setX402Splitter`): donations 112,926 / 81,656 / 64,550, finalize
    // 483,128, claim 70,935. A project's `rejected` flag now sits in the slot of its donation sums a
    // donation reads anyway (one cold SLOAD less, 2,100 gas), a donation reads the round's two
    // first slots once for all its checks, and a tally's count is written with its amount; a claim
    // reads the project's recipient slot once.
    uint256 internal constant FIRST_DONATION_GAS = 110_104;
    uint256 internal constant FURTHER_DONATION_GAS = 78_834;
    uint256 internal constant REPEAT_DONATION_GAS = 61_998;
    uint256 internal constant FINALIZE_100_GAS = 483_128;
    uint256 internal constant CLAIM_GAS = 70_845;

    address internal donorA;
    address internal donorB;
    address internal donorC;
    uint256 internal openRound;
    uint256 internal finalizedRound;

    function setUp() public override {
        super.setUp();
        donorA = makeAddr("donorA");
        donorB = makeAddr("donorB");
        donorC = makeAddr("donorC");
        address[3] memory donors = [donorA, donorB, donorC];
        for (uint256 i; i < donors.length; ++i) {
            usd.mint(donors[i], 1e30);
            vm.prank(donors[i]);
            usd.approve(address(qf), type(uint256).max);
        }

        // A round that is finalized, with two donors to its one project, for the claim.
        finalizedRound = _createRound();
        _applyAddress(finalizedRound, makeAddr("claimant"));
        _donateAs(donorA, finalizedRound, 1, 3_000_000);
        _donateAs(donorB, finalizedRound, 1, 5_000_000);
        _fundPool(finalizedRound, 1_000_000_000);
        _finalize(finalizedRound);

        // The open round: 100 address projects, two donors each except the last, which has none.
        openRound = _createRound();
        for (uint256 p = 1; p <= PROJECTS; ++p) {
            _applyAddress(openRound, makeAddr(string.concat("lab", vm.toString(p))));
        }
        for (uint256 p = 1; p < PROJECTS; ++p) {
            _donateAs(donorA, openRound, p, 3_000_000 + p);
            _donateAs(donorB, openRound, p, 5_000_000 + p);
        }
        _fundPool(openRound, 1_000_000_000);
    }

    function _donateAs(address donor, uint256 roundId, uint256 projectId, uint256 amount) internal {
        vm.prank(donor);
        qf.donate(roundId, projectId, amount);
    }

    /// @dev Gas of `donor` donating `amount` to a project of the open round.
    function _donationGas(address donor, uint256 projectId, uint256 amount) internal returns (uint256 used) {
        vm.prank(donor);
        used = gasleft();
        qf.donate(openRound, projectId, amount);
        used -= gasleft();
    }

    function test_donate_gasOfAProjectsFirstDonation() public {
        uint256 used = _donationGas(donorA, PROJECTS, 3_000_000);
        emit log_named_uint("donate: a project's first donation", used);
        assertLe(used, FIRST_DONATION_GAS, "a project's first donation costs no more than before");
    }

    function test_donate_gasOfAFurtherDonor() public {
        uint256 used = _donationGas(donorC, 1, 7_000_000);
        emit log_named_uint("donate: a further donor", used);
        assertLe(used, FURTHER_DONATION_GAS, "a further donor's donation costs no more than before");
    }

    function test_donate_gasOfARepeatDonation() public {
        uint256 used = _donationGas(donorA, 1, 1_000_000);
        emit log_named_uint("donate: a repeat donation", used);
        assertLe(used, REPEAT_DONATION_GAS, "a repeat donation costs no more than before");
    }

    function test_finalize_gasOfARoundOf100Projects() public {
        _endRound(openRound);
        uint256 used = gasleft();
        qf.finalize(openRound);
        used -= gasleft();
        emit log_named_uint("finalize: 100 projects", used);
        assertLe(used, FINALIZE_100_GAS, "finalizing 100 projects costs no more than before");
    }

    function test_claim_gasOfAProjectWithDonationsAndAMatch() public {
        address claimant = makeAddr("claimant");
        vm.prank(claimant);
        uint256 used = gasleft();
        qf.claim(finalizedRound, 1, claimant);
        used -= gasleft();
        emit log_named_uint("claim", used);
        assertLe(used, CLAIM_GAS, "a claim costs no more than before");
    }
}
