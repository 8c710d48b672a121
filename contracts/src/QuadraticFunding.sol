// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ModelRegistry} from "./ModelRegistry.sol";
import {Stewardship} from "./funding/Stewardship.sol";
import {FundingRounds} from "./funding/FundingRounds.sol";
import {ProtocolFeeReserve} from "./funding/ProtocolFeeReserve.sol";
import {UsageRecording} from "./funding/UsageRecording.sol";

/// @title QuadraticFunding
/// @notice Quadratic-funding rounds (Gitcoin-style CLR matching) for open models and the people who
///         make them, with a matching pool fed by funders and by the protocol fee on every paid
///         inference.
///
///         A round has a token, an application window, a donation window, a matching cap per
///         project, and optionally: a weight cap per donor, a list of attestation issuers donors must
///         be attested by, and a share of the pool matched by paid usage instead of donations.
///         Projects are a model (the match goes to whoever owns the model's token when claiming) or
///         an address (a lab, a team). Donations are held here and paid to the project with its match.
///
///         Matching. For each project, over its donors i with total donation c_i (capped at the
///         round's donor cap): weight = (sum_i sqrt(c_i))^2 - sum_i c_i, the amount CLR would add to
///         the donations. The donation pool is split in proportion to the weights, each share capped
///         at `matchingCapBps` of that pool. Usage matching is the same formula over the distinct
///         payers of a model's paid inference (read from PaymentChannels), applied to
///         `usageWeightBps` of the pool. If one side has no weight at all, the other gets the
///         whole pool. Square roots are integer square roots of `c_i * SCALE`, recomputed from each
///         donor's running total on every donation, so they never drift however a donor splits
///         their giving; each donation updates its project's sums and the round's total weight at
///         constant gas. Finalization makes one pass over projects to total the (rounded-down)
///         matches; whatever they leave of the pool (cap excess and rounding dust) is `unallocated`.
///
///         Time windows include their start and exclude their end (`start <= now < end`), like the
///         challenge period of PaymentChannels. Finalization is allowed from `donationEnd` on, by
///         anyone.
///
///         Protocol fees. PaymentChannels credits its protocol fee to this contract's earnings, and
///         so does X402Splitter for x402 payments once the deployer wired it (`setX402Splitter`);
///         `collectProtocolFees` (permissionless, and run by `finalize` of a protocol-funded round)
///         withdraws them into the pool of the protocol round the steward designated, as long as
///         that round is not finalized; otherwise they are held in `reserve`, which moves into the
///         next protocol round when the steward designates it. The unallocated part of a round that
///         ever received protocol fees also goes back to the protocol (the current protocol round,
///         or the reserve); the unallocated part of any other round is the operator's to withdraw.
///
///         A pool is fixed at finalization: from then on, top-ups are refused and fees go elsewhere.
/// @dev Round and project ids count from 1. Amounts per donor, per project and per round tally are
///      bounded by 2^128 - 1 (`AmountTooLarge`), which keeps every square and product in range.
///      Every function that moves tokens is nonReentrant; the ones that only write state (createRound,
///      applyProject, rejectProject, setSteward, setPaymentChannels, setX402Splitter) make no call
///      that could re-enter (the setters only read `fundingPool()` and `token()`, views, through
///      static calls) and need no guard. Token amounts are credited by the balance actually
///      received, so a token that takes a fee on transfer is credited what arrived.
///
///      The contract is assembled from one abstract contract per concern, in contracts/src/funding/,
///      each with its own errors, events and storage: `Stewardship` (the one-time wiring of
///      PaymentChannels and X402Splitter, the steward and the protocol round it designates),
///      `FundingRounds` (rounds, projects, donations, finalization, claims), `ProtocolFeeReserve` (collecting
///      protocol fees into the protocol round or the reserve) and `UsageRecording` (paid usage as
///      a matching signal); the matching maths is the `Tallies` library.
contract QuadraticFunding is Stewardship, FundingRounds, ProtocolFeeReserve, UsageRecording {
    /// @notice Deploys the funding contract. Wire PaymentChannels with `setPaymentChannels` once it
    ///         is deployed with this contract as its funding pool, then X402Splitter (deployed with
    ///         PaymentChannels' terms) with `setX402Splitter`.
    /// @param models_ The model registry.
    /// @param steward_ The account that designates the protocol round; must not be zero.
    constructor(ModelRegistry models_, address steward_) Stewardship(steward_) FundingRounds(models_) {}
}
