// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {FundingFixture} from "./utils/FundingFixture.sol";
import {ReferenceVectors} from "./utils/ReferenceVectors.sol";
import {QuadraticFunding} from "../src/QuadraticFunding.sol";

/// @notice The contract's matches equal the TypeScript reference's (src/funding/computeMatches.ts),
///         integer for integer, for random rounds generated and solved in TypeScript
///         (test/helpers/referenceVectors.ts; a vitest check keeps the generated file current).
///         Each round has the fixture's two models as projects, then some address projects;
///         rounds that weigh usage are paid for through real channels and their usage recorded.
contract QuadraticFundingReferenceTest is FundingFixture {
    struct Donation {
        uint8 project;
        uint8 donor;
        uint256 amount;
    }

    struct Payment {
        uint8 model;
        uint8 payer;
        uint256 amount;
    }

    struct Vector {
        uint16 matchingCapBps;
        uint16 usageWeightBps;
        uint128 donorCap;
        uint256 pool;
        uint8 labs;
        Donation[] donations;
        Payment[] payments;
        uint256[] donationMatches;
        uint256[] usageMatches;
        uint256 unallocated;
    }

    function test_matchesEqualTheTypeScriptReference() public {
        Vector[] memory vectors = abi.decode(ReferenceVectors.data(), (Vector[]));
        assertGt(vectors.length, 0, "vectors");
        for (uint256 i; i < vectors.length; ++i) {
            uint256 snapshot = vm.snapshotState();
            _replay(vectors[i], i);
            vm.revertToState(snapshot);
        }
    }

    /// @dev Runs one round as the vector describes and compares every match.
    function _replay(Vector memory v, uint256 index) internal {
        QuadraticFunding.RoundParams memory params = _params();
        params.matchingCapBps = v.matchingCapBps;
        params.usageWeightBps = v.usageWeightBps;
        params.donorCap = v.donorCap;
        uint256 roundId = _createRound(params);
        _applyModel(roundId, creator, modelId);
        _applyModel(roundId, creator2, modelId2);
        for (uint256 j; j < v.labs; ++j) {
            _applyAddress(roundId, address(uint160(0xA0000 + j)));
        }
        for (uint256 j; j < v.donations.length; ++j) {
            Donation memory d = v.donations[j];
            _donate(roundId, d.project + 1, address(uint160(0xD0000 + d.donor)), d.amount);
        }
        if (v.usageWeightBps != 0) {
            bytes32[] memory ids = new bytes32[](8);
            for (uint256 j; j < v.payments.length; ++j) {
                Payment memory p = v.payments[j];
                (address payer, uint256 key) = makeAddrAndKey(string.concat("refPayer", vm.toString(p.payer)));
                _payInference(payer, key, p.model == 0 ? modelId : modelId2, p.amount);
            }
            for (uint256 j; j < 4; ++j) {
                (address payer,) = makeAddrAndKey(string.concat("refPayer", vm.toString(j)));
                ids[2 * j] = channels.channelIdOf(payer, provider, modelId, 0);
                ids[2 * j + 1] = channels.channelIdOf(payer, provider, modelId2, 0);
            }
            qf.recordUsage(roundId, ids);
        }
        if (v.pool != 0) _fundPool(roundId, v.pool);
        _finalize(roundId);

        string memory at = string.concat("vector ", vm.toString(index));
        for (uint256 p; p < v.donationMatches.length; ++p) {
            (uint256 d, uint256 u) = qf.matchOf(roundId, p + 1);
            assertEq(d, v.donationMatches[p], string.concat(at, ": donation match of project ", vm.toString(p + 1)));
            assertEq(u, v.usageMatches[p], string.concat(at, ": usage match of project ", vm.toString(p + 1)));
        }
        assertEq(qf.getRound(roundId).unallocated, v.unallocated, string.concat(at, ": unallocated"));
    }
}
