// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice An ERC-20 whose `transfer` and `transferFrom` return false without moving anything.
contract FalseReturningToken is ERC20 {
    constructor() ERC20("False Token", "FALSE") {}

    /// @notice Mints to anyone (test token).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Returns false and moves nothing.
    function transfer(address, uint256) public pure override returns (bool) {
        return false;
    }

    /// @notice Returns false and moves nothing.
    function transferFrom(address, address, uint256) public pure override returns (bool) {
        return false;
    }
}
