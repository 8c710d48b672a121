// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title Tallies
/// @notice The matching maths of QuadraticFunding: one side (donations or usage) of a project as
///         running sums that each contribution updates at constant gas, the CLR weight of those
///         sums, a project's share of a pool, and the split of a pool between the two sides.
/// @dev Every sum is bounded by `MAX_AMOUNT` (2^128 - 1), which keeps every square and product in
///      range; `update` refuses to go above it with `AmountTooLarge`. Square roots are integer
///      square roots of `amount * SCALE`, recomputed from each contributor's running total, so the
///      sums never drift however a contributor splits their giving.
library Tallies {
    // ---------------------------------------------------------------- errors

    /// @notice An amount, or a running total, is above what the contract accounts for.
    /// @param amount The amount.
    /// @param maximum The largest allowed.
    error AmountTooLarge(uint256 amount, uint256 maximum);

    // ---------------------------------------------------------------- types and constants

    /// @notice The matching inputs of one side (donations or usage) of a project.
    /// @param sqrtSum The sum over contributors of `sqrt(min(total, donorCap) * SCALE)`.
    /// @param counted The sum over contributors of `min(total, donorCap)`.
    /// @param amount Everything contributed (for donations, what the project is paid).
    /// @param contributors The number of distinct donors (or payers).
    struct Tally {
        uint128 sqrtSum;
        uint128 counted;
        uint128 amount;
        uint64 contributors;
    }

    /// @notice A `Tally` as stored: the same sums in the same two slots, and in the second slot's
    ///         spare bits a `closed` flag. A project keeps its `rejected` flag there on its
    ///         donations side, so a donation reads no slot of the project beyond these two (a
    ///         cold slot less than keeping the flag beside the project's recipient). The library
    ///         neither reads nor writes `closed`; `update` writes the other fields one by one,
    ///         which leaves it as it is.
    /// @param sqrtSum See `Tally`.
    /// @param counted See `Tally`.
    /// @param amount See `Tally`.
    /// @param contributors See `Tally`.
    /// @param closed Whether the side takes no more contributions (its owner's flag).
    struct Sums {
        // slot 0
        uint128 sqrtSum;
        uint128 counted;
        // slot 1
        uint128 amount;
        uint64 contributors;
        bool closed;
    }

    /// @dev Square roots are taken of `amount * SCALE`, so that small amounts keep precision:
    ///      sqrt(1 base unit) is 1e9 units of weight.
    uint256 internal constant SCALE = 1e18;

    /// @dev Basis points in one whole.
    uint256 internal constant BPS = 10_000;

    /// @dev Largest per-donor, per-project or per-round tally amount.
    uint256 internal constant MAX_AMOUNT = type(uint128).max;

    // ---------------------------------------------------------------- functions

    /// @dev The matching weight of one side of a project: `(sqrtSum^2 / SCALE) - counted`, or 0
    ///      when that is negative (integer square roots round down, so one contributor can land
    ///      a unit below their amount).
    function weightOf(uint256 sqrtSum, uint256 counted) internal pure returns (uint256) {
        uint256 square = sqrtSum * sqrtSum / SCALE;
        return square > counted ? square - counted : 0;
    }

    /// @dev Moves one contributor's total from `before` to `total` in `tally`, and returns the
    ///      round's total weight adjusted by the change in the project's weight.
    function update(Sums storage tally, uint256 roundWeight, uint256 before, uint256 total, uint256 donorCap)
        internal
        returns (uint256)
    {
        uint256 sqrtSum = tally.sqrtSum;
        uint256 counted = tally.counted;
        uint256 oldWeight = weightOf(sqrtSum, counted);
        uint256 countedBefore = donorCap == 0 ? before : Math.min(before, donorCap);
        uint256 countedNow = donorCap == 0 ? total : Math.min(total, donorCap);
        if (countedNow != countedBefore) {
            sqrtSum = sqrtSum - Math.sqrt(countedBefore * SCALE) + Math.sqrt(countedNow * SCALE);
            counted = counted + countedNow - countedBefore;
            if (sqrtSum > MAX_AMOUNT) revert AmountTooLarge(sqrtSum, MAX_AMOUNT);
            if (counted > MAX_AMOUNT) revert AmountTooLarge(counted, MAX_AMOUNT);
            // casting to 'uint128' is safe because both were checked against MAX_AMOUNT above
            // forge-lint: disable-next-line(unsafe-typecast)
            tally.sqrtSum = uint128(sqrtSum);
            // forge-lint: disable-next-line(unsafe-typecast)
            tally.counted = uint128(counted);
        }
        uint256 amount = uint256(tally.amount) + (total - before);
        if (amount > MAX_AMOUNT) revert AmountTooLarge(amount, MAX_AMOUNT);
        // A new contributor's count is read before `amount` is written, not incremented in place
        // after it: the slot is then read once (272 gas less than `++tally.contributors`).
        if (before == 0) {
            uint64 contributors = tally.contributors + 1;
            // casting to 'uint128' is safe because it was checked against MAX_AMOUNT above
            // forge-lint: disable-next-line(unsafe-typecast)
            tally.amount = uint128(amount);
            tally.contributors = contributors;
        } else {
            // forge-lint: disable-next-line(unsafe-typecast)
            tally.amount = uint128(amount);
        }
        return roundWeight - oldWeight + weightOf(sqrtSum, counted);
    }

    /// @dev `min(pool * weight / totalWeight, pool * capBps / BPS)`, rounded down; 0 without weight.
    function shareOf(uint256 pool, uint256 totalWeight, Sums storage tally, uint16 capBps)
        internal
        view
        returns (uint256 share)
    {
        if (totalWeight == 0 || pool == 0) return 0;
        uint256 weight = weightOf(tally.sqrtSum, tally.counted);
        if (weight == 0) return 0;
        share = Math.mulDiv(pool, weight, totalWeight);
        uint256 cap = Math.mulDiv(pool, capBps, BPS);
        if (share > cap) share = cap;
    }

    /// @dev The sums of `stored`, as views return them.
    function toTally(Sums storage stored) internal view returns (Tally memory) {
        return Tally(stored.sqrtSum, stored.counted, stored.amount, stored.contributors);
    }

    /// @dev Splits the pool between donations and usage: `usageWeightBps` of it to usage, the rest
    ///      to donations, except that a side with no weight at all gives its part to the other.
    function splitPool(uint256 pool, uint16 usageWeightBps, uint256 donationWeight, uint256 usageWeight)
        internal
        pure
        returns (uint256 donationPool, uint256 usagePool)
    {
        usagePool = Math.mulDiv(pool, usageWeightBps, BPS);
        if (usageWeight == 0) usagePool = 0;
        else if (donationWeight == 0) usagePool = pool;
        donationPool = pool - usagePool;
    }
}
