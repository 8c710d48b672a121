// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestToken
/// @notice A plain ERC-20 with an open faucet, used as the payment and stake token of local test
///         networks (`gotong up`). FOR LOCAL TEST NETWORKS ONLY: anyone can mint any amount, so it
///         must never be the token of a deployment that handles real value.
contract TestToken is ERC20 {
    /// @dev The number of decimals, fixed at deployment.
    uint8 private immutable _decimals;

    /// @notice Deploys the token.
    /// @param name_ The token's name, e.g. "Gotong Test USD".
    /// @param symbol_ The token's symbol, e.g. "tUSD".
    /// @param decimals_ The number of decimals `decimals()` reports, e.g. 6.
    constructor(string memory name_, string memory symbol_, uint8 decimals_) ERC20(name_, symbol_) {
        _decimals = decimals_;
    }

    /// @notice Mints `amount` base units to `to`. Open to anyone: this is a local-network faucet,
    ///         for local test networks only.
    /// @param to The account credited.
    /// @param amount The amount minted, in base units.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice The number of decimals set at deployment.
    /// @return The decimals.
    function decimals() public view override returns (uint8) {
        return _decimals;
    }
}
