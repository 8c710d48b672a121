// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Fixture} from "../utils/Fixture.sol";
import {RevenueSplit} from "../../src/libraries/RevenueSplit.sol";

/// @notice RevenueSplit's arithmetic, and what a PaymentChannels redeem credits by it, to the base unit.
contract RevenueSplitTest is Fixture {
    function testFuzz_split_sumsExactly(uint256 amount, uint16 royaltyBps, uint16 feeBps) public pure {
        amount = bound(amount, 0, type(uint128).max);
        royaltyBps = uint16(bound(royaltyBps, 0, 5000));
        feeBps = uint16(bound(feeBps, 0, 1000));
        (uint256 royalty, uint256 fee, uint256 providerShare) = RevenueSplit.split(amount, royaltyBps, feeBps);
        assertEq(royalty + fee + providerShare, amount);
        assertEq(royalty, amount * royaltyBps / 10_000);
        assertEq(fee, amount * feeBps / 10_000);
    }

    /// @dev Across the whole uint256 range, both paths (plain arithmetic below 2^240, mulDiv above)
    ///      round exactly as a 512-bit mulDiv does, whatever the uint16 rates.
    function testFuzz_split_equalsMulDivOverTheWholeRange(uint256 amount, uint16 royaltyBps, uint16 feeBps)
        public
        pure
    {
        royaltyBps = uint16(bound(royaltyBps, 0, 5000));
        feeBps = uint16(bound(feeBps, 0, 5000));
        (uint256 royalty, uint256 fee, uint256 providerShare) = RevenueSplit.split(amount, royaltyBps, feeBps);
        assertEq(royalty, Math.mulDiv(amount, royaltyBps, 10_000), "royalty");
        assertEq(fee, Math.mulDiv(amount, feeBps, 10_000), "fee");
        assertEq(royalty + fee + providerShare, amount, "sum");
    }

    function test_split_isExactAtTheEdgeOfThePlainPath() public pure {
        uint256[3] memory amounts = [uint256(type(uint240).max), uint256(type(uint240).max) + 1, type(uint256).max];
        for (uint256 i; i < amounts.length; ++i) {
            (uint256 royalty, uint256 fee, uint256 providerShare) = RevenueSplit.split(amounts[i], 6000, 3999);
            assertEq(royalty, Math.mulDiv(amounts[i], 6000, 10_000), "royalty");
            assertEq(fee, Math.mulDiv(amounts[i], 3999, 10_000), "fee");
            assertEq(providerShare, amounts[i] - royalty - fee, "provider share");
        }
    }

    function test_split_roundsEachShareDown() public pure {
        // 999 * 10% = 99.9 and 999 * 2.5% = 24.975: both rounded down, the provider gets the dust.
        (uint256 royalty, uint256 fee, uint256 providerShare) = RevenueSplit.split(999, 1000, 250);
        assertEq(royalty, 99);
        assertEq(fee, 24);
        assertEq(providerShare, 876);
    }

    function testFuzz_split_equalsPaymentChannelsRedeem(uint256 amount, uint16 royaltyBps) public {
        amount = bound(amount, 1, 1e30);
        royaltyBps = uint16(bound(royaltyBps, 0, 5000));
        uint256 model = _registerModel(creator, royaltyBps);
        _registerProvider(stranger, model);
        bytes32 channelId = _open(sender, stranger, model, amount);
        bytes memory signature = _sign(senderKey, _voucher(channelId, 0, amount));
        vm.prank(stranger);
        channels.redeem(_voucher(channelId, 0, amount), signature);

        (uint256 royalty, uint256 fee, uint256 providerShare) = RevenueSplit.split(amount, royaltyBps, FEE_BPS);
        assertEq(channels.modelEarnings(model), royalty, "royalty");
        assertEq(channels.earnings(fundingPool), fee, "fee");
        assertEq(channels.earnings(stranger), providerShare, "provider share");
    }
}
