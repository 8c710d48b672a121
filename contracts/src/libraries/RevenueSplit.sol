// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title RevenueSplit
/// @notice How a payment for a model is divided: the model's royalty and the protocol fee, each
///         rounded down, and the rest to the provider, so the three shares sum to the payment to
///         the base unit. This is the arithmetic of PaymentChannels' redeem (its `_pay`), kept in
///         one place for every contract that pays for inference (X402Splitter; PaymentChannels is
///         meant to call it too, see the equivalence test in contracts/test/libraries).
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
        royalty = Math.mulDiv(amount, royaltyBps, BPS);
        fee = Math.mulDiv(amount, feeBps, BPS);
        providerShare = amount - royalty - fee;
    }
}
