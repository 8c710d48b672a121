// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {PaymentChannels} from "../PaymentChannels.sol";
import {FundingRounds} from "./FundingRounds.sol";
import {Tallies} from "./Tallies.sol";

/// @title UsageRecording
/// @notice Paid usage as a matching signal. A round can weigh matching by paid usage
///         (`usageWeightBps`): that share of its pool is matched with the same formula over each
///         model project's distinct payers, the senders of the PaymentChannels channels that paid
///         for the model. `recordUsage` (anyone) credits the increase of each channel epoch's
///         redeemed amount since this contract last looked, so every paid base unit counts once, in
///         the first round that records it.
abstract contract UsageRecording is FundingRounds {
    // ---------------------------------------------------------------- errors

    /// @notice The round gives no weight to usage.
    /// @param roundId The round.
    error UsageNotWeighed(uint256 roundId);

    /// @notice Usage counts from the start of the donation window until finalization.
    /// @param roundId The round.
    /// @param donationStart When usage starts counting.
    /// @param now The current block timestamp.
    error UsageNotOpen(uint256 roundId, uint64 donationStart, uint64 now);

    // ---------------------------------------------------------------- events

    /// @notice Paid usage of a model was counted for its project.
    /// @param roundId The round.
    /// @param projectId The project.
    /// @param channelId The channel it was paid through.
    /// @param payer The channel's sender.
    /// @param payerKey The identity it counts under.
    /// @param amount The newly redeemed amount counted.
    event UsageRecorded(
        uint256 indexed roundId,
        uint256 indexed projectId,
        bytes32 indexed channelId,
        address payer,
        bytes32 payerKey,
        uint256 amount
    );

    // ---------------------------------------------------------------- storage

    /// @dev Each payer identity's total counted usage, by round and project.
    mapping(uint256 roundId => mapping(uint256 projectId => mapping(bytes32 payerKey => uint256))) private _usage;

    /// @dev The cumulative redeemed amount of each channel epoch already counted (in any round).
    mapping(bytes32 channelId => mapping(uint64 epoch => uint256)) private _usageSeen;

    // ---------------------------------------------------------------- external

    /// @notice Counts the paid usage of channels for the round's model projects: for each channel,
    ///         the increase of its redeemed amount since this contract last looked at that channel
    ///         epoch, credited to the channel's sender as payer. Each paid base unit counts once, in
    ///         the first round it is recorded for. Channels whose model is not a (non-rejected)
    ///         project of the round, or whose sender is not attested when the round requires it,
    ///         are skipped and stay uncounted. Anyone may call it, from the start of the donation
    ///         window until finalization.
    /// @param roundId The round; must give weight to usage.
    /// @param channelIds The channels to look at.
    /// @return credited The total usage counted.
    function recordUsage(uint256 roundId, bytes32[] calldata channelIds) external nonReentrant returns (uint256 credited) {
        Round storage round = _round(roundId);
        if (round.usageWeightBps == 0) revert UsageNotWeighed(roundId);
        if (round.finalized) revert RoundAlreadyFinalized(roundId);
        if (block.timestamp < round.donationStart) {
            revert UsageNotOpen(roundId, round.donationStart, uint64(block.timestamp));
        }
        PaymentChannels channels = _channels();
        uint256 usageWeight = round.usageWeight;
        for (uint256 i; i < channelIds.length; ++i) {
            uint256 amount;
            (amount, usageWeight) = _recordChannel(roundId, round, channels, channelIds[i], usageWeight);
            credited += amount;
        }
        round.usageWeight = usageWeight;
    }

    // ---------------------------------------------------------------- external: views

    /// @notice An identity's total counted usage of a project's model in a round.
    /// @param roundId The round.
    /// @param projectId The project.
    /// @param payerKey The identity (see `donorKeyOf`).
    /// @return The total, in PaymentChannels token base units.
    function usageOf(uint256 roundId, uint256 projectId, bytes32 payerKey) external view returns (uint256) {
        return _usage[roundId][projectId][payerKey];
    }

    /// @notice The cumulative redeemed amount of a channel epoch already counted, in any round.
    /// @param channelId The channel.
    /// @param epoch The epoch.
    /// @return The amount.
    function usageSeen(bytes32 channelId, uint64 epoch) external view returns (uint256) {
        return _usageSeen[channelId][epoch];
    }

    /// @notice What `recordUsage(roundId, [channelId])` would count now (amount 0 when nothing).
    /// @param roundId The round.
    /// @param channelId The channel.
    /// @return projectId The project it would count for.
    /// @return payerKey The identity it would count under.
    /// @return amount The amount it would count.
    function pendingUsage(uint256 roundId, bytes32 channelId)
        external
        view
        returns (uint256 projectId, bytes32 payerKey, uint256 amount)
    {
        (projectId, payerKey, amount,) = _pendingUsage(roundId, _round(roundId), _channels(), channelId);
    }

    // ---------------------------------------------------------------- internal

    /// @dev What recording `channelId` for the round would count now, and the channel read.
    function _pendingUsage(uint256 roundId, Round storage round, PaymentChannels channels, bytes32 channelId)
        internal
        view
        returns (uint256 projectId, bytes32 payerKey, uint256 amount, PaymentChannels.Channel memory channel)
    {
        channel = channels.getChannel(channelId);
        if (channel.sender == address(0)) return (0, bytes32(0), 0, channel);
        projectId = _projectOfModel[roundId][channel.modelId];
        if (projectId == 0 || _projects[roundId][projectId].donations.closed) return (0, bytes32(0), 0, channel);
        uint256 seen = _usageSeen[channelId][channel.epoch];
        if (channel.redeemed <= seen) return (projectId, bytes32(0), 0, channel);
        payerKey = _identityOf(roundId, round, channel.sender);
        if (payerKey == bytes32(0)) return (projectId, bytes32(0), 0, channel);
        amount = channel.redeemed - seen;
    }

    /// @dev Counts one channel's pending usage for the round (see `recordUsage`); returns the
    ///      amount counted and the round's usage weight after it.
    function _recordChannel(
        uint256 roundId,
        Round storage round,
        PaymentChannels channels,
        bytes32 channelId,
        uint256 usageWeight
    ) internal returns (uint256 amount, uint256) {
        uint256 projectId;
        bytes32 payerKey;
        PaymentChannels.Channel memory channel;
        (projectId, payerKey, amount, channel) = _pendingUsage(roundId, round, channels, channelId);
        if (amount == 0) return (0, usageWeight);
        _usageSeen[channelId][channel.epoch] = channel.redeemed;
        usageWeight = _creditUsage(roundId, projectId, payerKey, amount, usageWeight, round.donorCap);
        emit UsageRecorded(roundId, projectId, channelId, channel.sender, payerKey, amount);
        return (amount, usageWeight);
    }

    /// @dev Adds `amount` to a payer's usage of a project; returns the round's usage weight after it.
    function _creditUsage(
        uint256 roundId,
        uint256 projectId,
        bytes32 payerKey,
        uint256 amount,
        uint256 usageWeight,
        uint256 donorCap
    ) internal returns (uint256) {
        mapping(bytes32 => uint256) storage totals = _usage[roundId][projectId];
        uint256 before = totals[payerKey];
        uint256 total = before + amount;
        if (total > Tallies.MAX_AMOUNT) revert Tallies.AmountTooLarge(total, Tallies.MAX_AMOUNT);
        totals[payerKey] = total;
        return Tallies.update(_projects[roundId][projectId].usage, usageWeight, before, total, donorCap);
    }
}
