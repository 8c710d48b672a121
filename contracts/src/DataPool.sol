// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {PaymentChannels} from "./PaymentChannels.sol";
import {DatasetRegistry} from "./DatasetRegistry.sol";

/// @title DataPool
/// @notice A data DAO: one dataset with many contributors. The pool owns the dataset's token (it
///         registers the dataset itself), and its ERC-20 balances are the contributors' shares,
///         minted once at creation and transferable. `collect` (anyone) pulls what the dataset
///         earned from PaymentChannels into the pool; each holder `claim`s its part in proportion
///         to the shares it held while the money arrived.
/// @dev Accounting is exact, with no per-share rounding: with `S` the fixed total supply and `C`
///      the cumulative amount collected, a holder is entitled to `(C * balance + correction) / S`
///      in all, where `correction` (signed) is adjusted on every transfer so that a transfer does
///      not move entitlement already earned. The corrections sum to zero, so the entitlements sum
///      to exactly `C`. Only a claim rounds, down, and the fraction is not lost: it stays in the
///      holder's entitlement and is paid once later income completes a unit; a holder that parts
///      with all its shares hands its fraction (under one unit) to the recipient of the last of
///      them. So the dust (under one base unit per current holder) stays in the pool's balance,
///      owed to current holders, and `balance >= C - claimed` always. The pool never gives up
///      the dataset token: there is no function that could.
contract DataPool is ERC20, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- errors

    /// @notice Contributors and shares differ in length.
    /// @param contributors The number of contributors.
    /// @param shares The number of share amounts.
    error LengthMismatch(uint256 contributors, uint256 shares);

    /// @notice A pool needs at least one contributor.
    error NoContributors();

    /// @notice A contributor was given no shares.
    /// @param contributor The contributor.
    error ZeroShares(address contributor);

    /// @notice The total shares exceed `MAX_TOTAL_SHARES`, which keeps `C * balance` far from overflow.
    /// @param total The total given.
    /// @param maximum `MAX_TOTAL_SHARES`.
    error TooManyShares(uint256 total, uint256 maximum);

    /// @notice Nothing new has arrived for the pool to distribute.
    error NothingToCollect();

    /// @notice The account has nothing to claim.
    /// @param account The account.
    error NothingToClaim(address account);

    // ---------------------------------------------------------------- events

    /// @notice Income was added to the pool's distribution.
    /// @param amount The amount distributed (dataset earnings pulled plus anything sent directly).
    /// @param collected The cumulative amount collected.
    event Collected(uint256 amount, uint256 collected);

    /// @notice A holder claimed its part.
    /// @param account The holder.
    /// @param amount The amount paid.
    event Claimed(address indexed account, uint256 amount);

    // ---------------------------------------------------------------- storage

    /// @notice The most shares a pool may have in total (2^96, far beyond any real contribution count).
    uint256 public constant MAX_TOTAL_SHARES = 2 ** 96;

    /// @notice The channels the dataset's earnings are withdrawn from.
    PaymentChannels public immutable channels;

    /// @notice The token earnings are paid in.
    IERC20 public immutable payToken;

    /// @notice The dataset this pool owns.
    uint256 public immutable datasetId;

    /// @notice The cumulative amount collected for distribution.
    uint256 public collected;

    /// @notice The cumulative amount claimed by holders.
    uint256 public claimed;

    /// @dev Signed adjustment of each account's entitlement numerator (see the contract's @dev).
    mapping(address account => int256) private _correction;

    /// @dev What each account has claimed.
    mapping(address account => uint256) private _claimedBy;

    // ---------------------------------------------------------------- constructor

    /// @notice The dataset a pool registers.
    /// @param contentHash The hash of the dataset's files.
    /// @param name The dataset's name.
    /// @param manifestURI Where the signed manifest (licence, owners and shares) can be fetched.
    /// @param manifestHash The manifest's hash.
    struct DatasetInfo {
        bytes32 contentHash;
        string name;
        string manifestURI;
        bytes32 manifestHash;
    }

    /// @notice Creates the pool, registers its dataset (the pool owns the token) and mints each
    ///         contributor its shares.
    /// @param channels_ The PaymentChannels the dataset earns in (its registry gives the dataset registry).
    /// @param name_ The share token's name.
    /// @param symbol_ The share token's symbol.
    /// @param dataset The dataset to register.
    /// @param contributors Who contributed.
    /// @param shares Their shares, in the same order; each above zero.
    constructor(
        PaymentChannels channels_,
        string memory name_,
        string memory symbol_,
        DatasetInfo memory dataset,
        address[] memory contributors,
        uint256[] memory shares
    ) ERC20(name_, symbol_) {
        if (contributors.length != shares.length) revert LengthMismatch(contributors.length, shares.length);
        if (contributors.length == 0) revert NoContributors();
        channels = channels_;
        payToken = channels_.token();
        DatasetRegistry registry = channels_.models().datasets();
        datasetId = registry.registerDataset(dataset.contentHash, dataset.name, dataset.manifestURI, dataset.manifestHash);
        uint256 total;
        for (uint256 i; i < contributors.length; ++i) {
            if (shares[i] == 0) revert ZeroShares(contributors[i]);
            total += shares[i];
            _mint(contributors[i], shares[i]);
        }
        if (total > MAX_TOTAL_SHARES) revert TooManyShares(total, MAX_TOTAL_SHARES);
    }

    // ---------------------------------------------------------------- external

    /// @notice Pulls the dataset's earnings from PaymentChannels (when it has any) and distributes
    ///         everything the pool holds beyond what it owes, so tokens sent to it directly are
    ///         shared too. Anyone may call it.
    /// @return amount The amount added to the distribution.
    function collect() external nonReentrant returns (uint256 amount) {
        if (channels.datasetEarnings(datasetId) != 0) channels.withdrawDatasetEarnings(datasetId, address(this));
        amount = payToken.balanceOf(address(this)) - (collected - claimed);
        if (amount == 0) revert NothingToCollect();
        collected += amount;
        emit Collected(amount, collected);
    }

    /// @notice Pays the caller its unclaimed part.
    /// @return amount The amount paid.
    function claim() external nonReentrant returns (uint256 amount) {
        amount = claimable(msg.sender);
        if (amount == 0) revert NothingToClaim(msg.sender);
        _claimedBy[msg.sender] += amount;
        claimed += amount;
        payToken.safeTransfer(msg.sender, amount);
        emit Claimed(msg.sender, amount);
    }

    /// @notice What an account has claimed so far.
    /// @param account The account.
    /// @return The amount.
    function claimedBy(address account) external view returns (uint256) {
        return _claimedBy[account];
    }

    // ---------------------------------------------------------------- public

    /// @notice What an account can claim now: its entitlement, rounded down, less what it claimed.
    /// @param account The account.
    /// @return The amount.
    function claimable(address account) public view returns (uint256) {
        return _entitlementNumerator(account) / totalSupply() - _claimedBy[account];
    }

    // ---------------------------------------------------------------- internal

    /// @dev `C * balance + correction`: the account's entitlement times the total supply.
    function _entitlementNumerator(address account) internal view returns (uint256) {
        // casting to 'uint256' is safe because an entitlement is never negative: corrections only
        // move what was already earned between accounts
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint256(int256(collected * balanceOf(account)) + _correction[account]);
    }

    /// @dev Keeps entitlements where they were earned across transfers (mints happen at creation,
    ///      when nothing was collected, so they need no correction), and hands a leaving holder's
    ///      fraction to the recipient so no dust is stranded at an empty account.
    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (from == address(0) || to == address(0) || from == to) return;
        // casting to 'int256' is safe because collected < 2^128 in practice and value <= 2^96
        // forge-lint: disable-next-line(unsafe-typecast)
        int256 moved = int256(collected * value);
        _correction[from] += moved;
        _correction[to] -= moved;
        if (balanceOf(from) == 0) {
            // casting to 'int256' is safe because the remainder is below the total supply
            // forge-lint: disable-next-line(unsafe-typecast)
            int256 fraction = int256(_entitlementNumerator(from) % totalSupply());
            _correction[from] -= fraction;
            _correction[to] += fraction;
        }
    }
}
