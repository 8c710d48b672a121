// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {PaymentChannels} from "../PaymentChannels.sol";
import {FundingRounds} from "./FundingRounds.sol";
import {IProtocolFeeSource} from "./IProtocolFeeSource.sol";

/// @title ProtocolFeeReserve
/// @notice Where the protocol fee of every paid inference goes. PaymentChannels (voucher redeems)
///         and X402Splitter (x402 payments, once wired) credit it to this contract's earnings;
///         `collectProtocolFees` (permissionless, and run by `finalize` of a protocol-funded round)
///         withdraws both into the pool of the protocol round the steward
///         designated, as long as that round is not finalized; otherwise it is held in `reserve`,
///         which moves into the next protocol round when the steward designates it. The unallocated
///         part of a round that ever received protocol fees goes back the same way.
abstract contract ProtocolFeeReserve is FundingRounds {
    // ---------------------------------------------------------------- errors

    /// @notice Protocol fees can only fund a round in the token they are paid in.
    /// @param roundId The round.
    /// @param token The round's token.
    /// @param feeToken The token protocol fees are paid in.
    error WrongToken(uint256 roundId, address token, address feeToken);

    // ---------------------------------------------------------------- events

    /// @notice Protocol fees were withdrawn from PaymentChannels and X402Splitter (one event for both).
    /// @param roundId The protocol round they went to, or 0 when they went to the reserve.
    /// @param amount The amount received.
    event ProtocolFeesCollected(uint256 indexed roundId, uint256 amount);

    /// @notice The steward designated the round protocol fees go to.
    /// @param roundId The round.
    /// @param reserveMoved The reserve moved into its pool.
    event ProtocolRoundSet(uint256 indexed roundId, uint256 reserveMoved);

    /// @notice A protocol-funded round's unallocated part went back to the protocol.
    /// @param roundId The round.
    /// @param toRoundId The protocol round it went to, or 0 for the reserve.
    /// @param amount The amount.
    event UnallocatedReturned(uint256 indexed roundId, uint256 indexed toRoundId, uint256 amount);

    // ---------------------------------------------------------------- storage

    /// @notice Protocol fees (and protocol rounds' unallocated parts) waiting for the next protocol round.
    uint256 public reserve;

    // ---------------------------------------------------------------- external

    /// @notice Designates the round protocol fees go to, and moves the reserve into its pool.
    /// @param roundId The round; not finalized, in the token protocol fees are paid in.
    function setProtocolRound(uint256 roundId) external nonReentrant {
        if (msg.sender != steward) revert NotSteward(msg.sender);
        PaymentChannels channels = _channels();
        Round storage round = _round(roundId);
        if (round.finalized) revert RoundAlreadyFinalized(roundId);
        address feeToken = address(channels.token());
        if (address(round.token) != feeToken) revert WrongToken(roundId, address(round.token), feeToken);
        protocolRoundId = roundId;
        round.protocolFunded = true;
        uint256 moved = reserve;
        if (moved != 0) {
            reserve = 0;
            _addToPool(roundId, round, address(this), moved);
        }
        emit ProtocolRoundSet(roundId, moved);
    }

    /// @notice Withdraws the protocol fees PaymentChannels and X402Splitter hold for this contract
    ///         (and the funding share of slashes ServingVerification holds, once wired)
    ///         into the protocol round's pool (or the reserve when there is no open protocol round).
    ///         Anyone may call it.
    /// @return received The amount withdrawn from both (0 when there was nothing).
    function collectProtocolFees() external nonReentrant returns (uint256 received) {
        received = _collectProtocolFees(_channels());
    }

    // ---------------------------------------------------------------- internal

    /// @dev Withdraws the protocol fees PaymentChannels and X402Splitter (when wired) hold for this
    ///      contract, and credits their sum to the open protocol round or the reserve. Both pay in
    ///      PaymentChannels' token (`setX402Splitter` checks it).
    function _collectProtocolFees(PaymentChannels channels) internal override returns (uint256 received) {
        IProtocolFeeSource splitter = x402Splitter;
        IProtocolFeeSource verification = servingVerification;
        received = _withdrawFees(IProtocolFeeSource(address(channels)), channels);
        if (address(splitter) != address(0)) received += _withdrawFees(splitter, channels);
        // The funding share of slashed stake (ServingVerification) joins the protocol fees.
        if (address(verification) != address(0)) received += _withdrawFees(verification, channels);
        if (received == 0) return 0;
        uint256 roundId = _creditProtocol(received);
        emit ProtocolFeesCollected(roundId, received);
    }

    /// @dev Withdraws what `source` holds for this contract, by the balance delta in `channels`'
    ///      token (read only when there is something to withdraw), so a fee-on-transfer token is
    ///      credited what arrived.
    function _withdrawFees(IProtocolFeeSource source, PaymentChannels channels) private returns (uint256 received) {
        if (source.earnings(address(this)) == 0) return 0;
        IERC20 feeToken = channels.token();
        uint256 before = feeToken.balanceOf(address(this));
        source.withdrawEarnings(address(this));
        received = feeToken.balanceOf(address(this)) - before;
    }

    /// @dev Credits protocol money to the open protocol round's pool, or to the reserve when there
    ///      is none; returns the round credited (0 for the reserve).
    function _creditProtocol(uint256 amount) internal returns (uint256 roundId) {
        roundId = protocolRoundId;
        if (roundId != 0) {
            Round storage round = _rounds[roundId];
            if (!round.finalized) {
                _addToPool(roundId, round, address(this), amount);
                return roundId;
            }
        }
        reserve += amount;
        return 0;
    }

    /// @dev Sends a protocol-funded round's unallocated part back to the protocol.
    function _returnToProtocol(uint256 roundId, uint256 amount) internal override {
        uint256 toRoundId = _creditProtocol(amount);
        emit UnallocatedReturned(roundId, toRoundId, amount);
    }
}
