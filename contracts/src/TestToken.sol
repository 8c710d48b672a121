// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.26;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC3009} from "@openzeppelin/contracts/token/ERC20/extensions/draft-ERC3009.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

/// @title TestToken
/// @notice A plain ERC-20 with an open faucet, used as the payment and stake token of local test
///         networks (`gotong up`). FOR LOCAL TEST NETWORKS ONLY: anyone can mint any amount, so it
///         must never be the token of a deployment that handles real value.
/// @dev Implements EIP-3009 (`transferWithAuthorization`, `receiveWithAuthorization`,
///      `cancelAuthorization`, `authorizationState`) with OpenZeppelin's ERC3009, under the EIP-712
///      domain USDC uses: the token's name and version "2". So x402's `exact` scheme, whose clients
///      sign `TransferWithAuthorization` for USDC, pays in this token unchanged on a local network.
contract TestToken is ERC20, ERC3009 {
    /// @notice The EIP-712 domain version of EIP-3009 authorizations, as USDC's ("2").
    string public constant VERSION = "2";

    /// @dev The number of decimals, fixed at deployment.
    uint8 private immutable _decimals;

    /// @notice Deploys the token.
    /// @param name_ The token's name, e.g. "Gotong Test USD"; also its EIP-712 domain name.
    /// @param symbol_ The token's symbol, e.g. "tUSD".
    /// @param decimals_ The number of decimals `decimals()` reports, e.g. 6.
    constructor(string memory name_, string memory symbol_, uint8 decimals_)
        ERC20(name_, symbol_)
        EIP712(name_, VERSION)
    {
        _decimals = decimals_;
    }

    /// @notice Mints `amount` base units to `to`. Open to anyone: this is a local-network faucet,
    ///         for local test networks only.
    /// @param to The account credited.
    /// @param amount The amount minted, in base units.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice The EIP-712 domain version, under the name USDC exposes it (`version()`), which x402
    ///         servers read to fill `extra.version`.
    /// @return The version, "2".
    function version() external pure returns (string memory) {
        return VERSION;
    }

    /// @notice The number of decimals set at deployment.
    /// @return The decimals.
    function decimals() public view override returns (uint8) {
        return _decimals;
    }
}
