// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice An ERC-20 that burns `feeBps` of every transfer, so the recipient gets less than was sent.
contract FeeOnTransferToken is ERC20 {
    /// @notice The share of each transfer burned, in basis points.
    uint256 public immutable feeBps;

    /// @param feeBps_ The share of each transfer burned, in basis points.
    constructor(uint256 feeBps_) ERC20("Fee Token", "FEE") {
        feeBps = feeBps_;
    }

    /// @notice Mints to anyone (test token).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @dev Burns the fee from every transfer between two accounts.
    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) return super._update(from, to, value);
        uint256 fee = value * feeBps / 10_000;
        super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}
