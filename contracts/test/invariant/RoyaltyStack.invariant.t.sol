// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {InvariantTest} from "./InvariantTest.sol";
import {TestToken} from "../../src/TestToken.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {PaymentChannels} from "../../src/PaymentChannels.sol";
import {DataPool} from "../../src/DataPool.sol";
import {RoyaltyStackHandler} from "./handlers/RoyaltyStackHandler.sol";

/// @notice Invariants of royalty stacks: every redeemed unit is paid to exactly one party, and the
///         stack never pays more (or less) than the royalty.
contract RoyaltyStackInvariantTest is InvariantTest {
    PaymentChannels internal channels;
    TestToken internal usd;
    RoyaltyStackHandler internal handler;

    function setUp() public {
        TestToken stakeToken;
        ModelRegistry models;
        ProviderRegistry providers;
        (usd, stakeToken, models, providers) = _deployRegistries();
        channels = new PaymentChannels(usd, models, providers, makeAddr("fundingPool"), 300, 1 hours);
        handler = new RoyaltyStackHandler(channels, usd, stakeToken, providers);

        bytes4[] memory selectors = new bytes4[](8);
        selectors[0] = RoyaltyStackHandler.pay.selector;
        selectors[1] = RoyaltyStackHandler.flow.selector;
        selectors[2] = RoyaltyStackHandler.withdrawModel.selector;
        selectors[3] = RoyaltyStackHandler.transferModel.selector;
        selectors[4] = RoyaltyStackHandler.withdrawDataset.selector;
        selectors[5] = RoyaltyStackHandler.collect.selector;
        selectors[6] = RoyaltyStackHandler.claim.selector;
        selectors[7] = RoyaltyStackHandler.transferShares.selector;
        _targetHandler(address(handler), selectors);
    }

    /// @dev Royalty-side money still in PaymentChannels: models' pending and kept, datasets'.
    function _royaltiesHeld() internal view returns (uint256 sum) {
        uint256[] memory ids = handler.modelIds();
        for (uint256 i; i < ids.length; ++i) {
            sum += channels.modelEarnings(ids[i]);
        }
        uint256[] memory ds = handler.datasetIds();
        for (uint256 i; i < ds.length; ++i) {
            sum += channels.datasetEarnings(ds[i]);
        }
    }

    /// @notice provider + fee + model owners + datasets + pool holders (+ pool dust) == redeemed.
    function invariant_everyRedeemedUnitIsPaidToExactlyOneParty() public view {
        DataPool pool = handler.pool();
        assertEq(
            channels.earnings(handler.provider()) + channels.earnings(handler.fundingPool()) + _royaltiesHeld()
                + handler.ghostModelWithdrawn() + handler.ghostDatasetWithdrawn() + usd.balanceOf(address(pool))
                + handler.ghostPoolClaimed(),
            handler.ghostRedeemed(),
            "every redeemed unit is owed to, or was paid to, exactly one party"
        );
        assertEq(usd.balanceOf(address(channels)), channels.earnings(handler.provider())
            + channels.earnings(handler.fundingPool()) + _royaltiesHeld(), "channels hold what they owe");
        assertEq(usd.balanceOf(handler.sink()), handler.ghostModelWithdrawn() + handler.ghostDatasetWithdrawn());
    }

    /// @notice The provider and the fee get exactly their split; the stack gets exactly the royalty.
    function invariant_stackPaysExactlyTheRoyalty() public view {
        assertEq(channels.earnings(handler.provider()), handler.ghostProviderShare(), "provider share");
        assertEq(channels.earnings(handler.fundingPool()), handler.ghostFee(), "fee");
        DataPool pool = handler.pool();
        uint256 royaltySide = _royaltiesHeld() + handler.ghostModelWithdrawn() + handler.ghostDatasetWithdrawn()
            + pool.collected();
        assertEq(royaltySide, handler.ghostRoyalty(), "the stack pays out exactly the royalty, never more");
    }

    /// @notice The pool holds what it owes, and never owes more than it collected.
    function invariant_poolOwesNoMoreThanItHolds() public view {
        DataPool pool = handler.pool();
        assertEq(usd.balanceOf(address(pool)), pool.collected() - pool.claimed(), "pool balance");
        assertEq(pool.claimed(), handler.ghostPoolClaimed(), "claims");
        address[] memory holders = handler.holders();
        uint256 owed;
        for (uint256 i; i < holders.length; ++i) {
            owed += pool.claimable(holders[i]);
        }
        uint256 unclaimed = pool.collected() - pool.claimed();
        assertLe(owed, unclaimed, "claimable never exceeds what the pool holds");
        assertLt(unclaimed - owed, holders.length, "dust is under one unit per holder");
    }
}
