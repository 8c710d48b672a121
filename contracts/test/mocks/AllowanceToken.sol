// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice An ERC-20 with the pre-OpenZeppelin-5 `increaseAllowance` and `decreaseAllowance`, and an
///         open faucet, to check that an agent wallet meters every way of granting an allowance.
contract AllowanceToken is ERC20 {
    constructor() ERC20("Allowance Token", "ALW") {}

    /// @notice Mints `amount` to `to` (anyone may).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Adds `added` to the caller's allowance for `spender`.
    function increaseAllowance(address spender, uint256 added) external returns (bool) {
        _approve(msg.sender, spender, allowance(msg.sender, spender) + added);
        return true;
    }

    /// @notice Subtracts `subtracted` from the caller's allowance for `spender`.
    function decreaseAllowance(address spender, uint256 subtracted) external returns (bool) {
        _approve(msg.sender, spender, allowance(msg.sender, spender) - subtracted);
        return true;
    }
}
