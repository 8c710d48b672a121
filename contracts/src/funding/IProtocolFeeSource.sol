// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IProtocolFeeSource
/// @notice A contract that credits protocol fees to its funding pool and lets the pool withdraw
///         them: PaymentChannels (voucher redeems) and X402Splitter (x402 payments) both do, with
///         these same functions, so QuadraticFunding collects from either the same way.
interface IProtocolFeeSource {
    /// @notice The token fees are paid in.
    function token() external view returns (IERC20);

    /// @notice The account credited with protocol fees.
    function fundingPool() external view returns (address);

    /// @notice Earnings credited to an account and not yet withdrawn.
    /// @param account The account.
    function earnings(address account) external view returns (uint256);

    /// @notice Pays the caller's credited earnings to `to`.
    /// @param to The recipient.
    /// @return amount The amount paid.
    function withdrawEarnings(address to) external returns (uint256 amount);
}
