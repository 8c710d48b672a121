// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title StoredDonationsBaseline
/// @notice The design QuadraticFunding is benchmarked against (bench/fundingGas.ts): every donation
///         is stored as a record, and matching is computed off-chain from them; the operator then
///         posts each project's match. It checks the same things on a donation (window, project,
///         amount) and pulls tokens the same way (crediting the balance received), so the figures
///         differ only by how matching inputs are kept. Not deployed: benchmark only.
/// @dev Deliberately minimal: no claims, no attestation, no usage; posting matches is trusted.
contract StoredDonationsBaseline {
    using SafeERC20 for IERC20;

    /// @notice The donation window is not open.
    error DonationWindowClosed();
    /// @notice The project is not in the round.
    error ProjectNotInRound(uint256 projectId);
    /// @notice Zero was given or arrived.
    error ZeroAmount();
    /// @notice Only the operator may post matches.
    error NotOperator();

    /// @notice A donation was stored.
    event Donated(uint256 indexed roundId, uint256 indexed projectId, address indexed donor, uint256 amount);

    /// @notice One stored donation: two slots.
    struct Donation {
        address donor;
        uint64 projectId;
        uint32 timestamp;
        uint256 amount;
    }

    /// @notice A round: its token, window, project count and operator.
    struct Round {
        IERC20 token;
        uint64 donationStart;
        uint64 donationEnd;
        uint32 projectCount;
        address operator;
    }

    /// @notice Rounds by id.
    mapping(uint256 roundId => Round) public rounds;
    /// @notice Every donation of a round, in order: what off-chain matching reads.
    mapping(uint256 roundId => Donation[]) public donations;
    /// @notice Donations per project (what a claim pays besides the match).
    mapping(uint256 roundId => mapping(uint256 projectId => uint256)) public donated;
    /// @notice Matches posted by the operator after computing them off-chain.
    mapping(uint256 roundId => mapping(uint256 projectId => uint256)) public matches;
    /// @notice The number of rounds.
    uint256 public roundCount;

    /// @notice Creates a round with `projectCount` projects.
    function createRound(IERC20 token, uint64 donationStart, uint64 donationEnd, uint32 projectCount)
        external
        returns (uint256 roundId)
    {
        roundId = ++roundCount;
        rounds[roundId] = Round(token, donationStart, donationEnd, projectCount, msg.sender);
    }

    /// @notice Stores a donation.
    function donate(uint256 roundId, uint256 projectId, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        Round storage round = rounds[roundId];
        if (block.timestamp < round.donationStart || block.timestamp >= round.donationEnd) {
            revert DonationWindowClosed();
        }
        if (projectId == 0 || projectId > round.projectCount) revert ProjectNotInRound(projectId);
        IERC20 token = round.token;
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received == 0) revert ZeroAmount();
        donations[roundId].push(
            Donation({
                donor: msg.sender,
                // forge-lint: disable-next-line(unsafe-typecast)
                projectId: uint64(projectId),
                // forge-lint: disable-next-line(unsafe-typecast)
                timestamp: uint32(block.timestamp),
                amount: received
            })
        );
        donated[roundId][projectId] += received;
        emit Donated(roundId, projectId, msg.sender, received);
    }

    /// @notice Posts every project's match, computed off-chain from `donations` (trusted).
    function postMatches(uint256 roundId, uint256[] calldata values) external {
        if (msg.sender != rounds[roundId].operator) revert NotOperator();
        for (uint256 i; i < values.length; ++i) {
            matches[roundId][i + 1] = values[i];
        }
    }
}
