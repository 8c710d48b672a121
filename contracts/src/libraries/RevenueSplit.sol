// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title RevenueSplit
/// @notice How a payment for a model is divided: the model's royalty and the protocol fee, each
///         rounded down, and the rest to the provider, so the three shares sum to the payment to
///         the base unit. Every contract that pays for inference splits by it (PaymentChannels'
///         redeem, X402Splitter's x402 payments), so a voucher and an x402 payment of the same
///         amount and rates split the same to the base unit.
/// @dev `internal`, so it is compiled into each caller (a jump, not a call to a deployed library).
///      Below 2^240 it divides plainly instead of through mulDiv, which makes a redeem cheaper than
///      PaymentChannels' own two mulDivs were (contracts/test/PaymentChannels.gas.t.sol).
library RevenueSplit {
    /// @dev Basis points in one whole.
    uint256 internal constant BPS = 10_000;

    /// @notice Splits `amount` by the royalty and fee rates.
    /// @dev `royaltyBps + feeBps` must be at most `BPS` (ModelRegistry and PaymentChannels cap each
    ///      far below); otherwise the subtraction reverts rather than paying more than `amount`.
    /// @param amount The payment, in token base units.
    /// @param royaltyBps The model's royalty, in basis points.
    /// @param feeBps The protocol fee, in basis points.
    /// @return royalty `amount * royaltyBps / 10000`, rounded down.
    /// @return fee `amount * feeBps / 10000`, rounded down.
    /// @return providerShare The remainder: `amount - royalty - fee`.
    function split(uint256 amount, uint16 royaltyBps, uint16 feeBps)
        internal
        pure
        returns (uint256 royalty, uint256 fee, uint256 providerShare)
    {
        if (amount <= type(uint240).max) {
            // A rate below 2^16 times an amount below 2^240 cannot overflow, so plain arithmetic is
            // exact here and cheaper than mulDiv's 512-bit product (a redeem pays for the call).
            unchecked {
                royalty = amount * royaltyBps / BPS;
                fee = amount * feeBps / BPS;
            }
        } else {
            royalty = Math.mulDiv(amount, royaltyBps, BPS);
            fee = Math.mulDiv(amount, feeBps, BPS);
        }
        providerShare = amount - royalty - fee;
    }
}
