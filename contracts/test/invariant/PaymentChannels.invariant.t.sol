// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {InvariantTest} from "./InvariantTest.sol";
import {TestToken} from "../../src/TestToken.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {PaymentChannels} from "../../src/PaymentChannels.sol";
import {PaymentChannelsHandler} from "./handlers/PaymentChannelsHandler.sol";

/// @notice Invariants of PaymentChannels under random sequences of every user action.
contract PaymentChannelsInvariantTest is InvariantTest {
    PaymentChannels internal channels;
    TestToken internal usd;
    PaymentChannelsHandler internal handler;

    function setUp() public {
        TestToken stakeToken;
        ModelRegistry models;
        ProviderRegistry providers;
        (usd, stakeToken, models, providers) = _deployRegistries();
        channels = new PaymentChannels(usd, models, providers, makeAddr("fundingPool"), 300, 1 hours);
        handler = new PaymentChannelsHandler(channels, usd, stakeToken, models, providers, START_TIME);

        bytes4[] memory selectors = new bytes4[](12);
        selectors[0] = PaymentChannelsHandler.open.selector;
        selectors[1] = PaymentChannelsHandler.topUp.selector;
        selectors[2] = PaymentChannelsHandler.redeem.selector;
        selectors[3] = PaymentChannelsHandler.redeemStale.selector;
        selectors[4] = PaymentChannelsHandler.redeemOldEpoch.selector;
        selectors[5] = PaymentChannelsHandler.redeemBatch.selector;
        selectors[6] = PaymentChannelsHandler.startClose.selector;
        selectors[7] = PaymentChannelsHandler.warp.selector;
        selectors[8] = PaymentChannelsHandler.withdraw.selector;
        selectors[9] = PaymentChannelsHandler.withdrawEarnings.selector;
        selectors[10] = PaymentChannelsHandler.transferModel.selector;
        selectors[11] = PaymentChannelsHandler.withdrawModelEarnings.selector;
        _targetHandler(address(handler), selectors);
    }

    /// @dev Royalties accrued on every model and not yet withdrawn.
    function _unwithdrawnRoyalties() internal view returns (uint256 sum) {
        uint256[] memory modelIds = handler.modelIds();
        for (uint256 i; i < modelIds.length; ++i) {
            sum += channels.modelEarnings(modelIds[i]);
        }
    }

    /// @notice Tokens in == tokens out + tokens held, and what is held is exactly what the contract
    ///         owes: the unredeemed part of every channel plus every unwithdrawn earning and royalty.
    function invariant_fundsConserved() public view {
        uint256 held = usd.balanceOf(address(channels));
        assertEq(
            handler.ghostDeposited(),
            handler.ghostRefunded() + handler.ghostEarningsWithdrawn() + handler.ghostModelEarningsWithdrawn() + held,
            "deposited == refunded + earnings withdrawn + royalties withdrawn + held"
        );

        uint256 owed;
        bytes32[] memory ids = handler.channelIds();
        for (uint256 i; i < ids.length; ++i) {
            PaymentChannels.Channel memory c = channels.getChannel(ids[i]);
            assertLe(c.redeemed, c.deposit, "redeemed <= deposit");
            owed += c.deposit - c.redeemed;
        }
        address[] memory earners = handler.earners();
        for (uint256 i; i < earners.length; ++i) {
            owed += channels.earnings(earners[i]);
        }
        owed += _unwithdrawnRoyalties();
        assertEq(held, owed, "held == sum(deposit - redeemed) + sum(earnings) + sum(model earnings)");
        assertEq(handler.ghostRefundMismatches(), 0, "refunds are exactly deposit - redeemed");
    }

    /// @notice Everything paid equals, summed over channels and epochs, the highest voucher
    ///         amount redeemed (capped by the deposit): no voucher, repeat, or replay paid twice.
    function invariant_noVoucherPaysTwice() public view {
        assertEq(handler.ghostPaid(), handler.ghostSumHighestVoucher(), "paid == sum of highest vouchers");
        assertEq(handler.ghostReplaysAccepted(), 0, "stale and old-epoch vouchers are refused");
        assertEq(handler.ghostUnexpectedErrors(), 0, "refused with the documented error");

        uint256 unwithdrawn = _unwithdrawnRoyalties();
        address[] memory earners = handler.earners();
        for (uint256 i; i < earners.length; ++i) {
            unwithdrawn += channels.earnings(earners[i]);
        }
        assertEq(
            handler.ghostPaid(),
            unwithdrawn + handler.ghostEarningsWithdrawn() + handler.ghostModelEarningsWithdrawn(),
            "paid == earnings and royalties credited"
        );
    }

    /// @notice Every redemption split exactly: royalty + fee + provider share == amount, each share
    ///         as computed with mulDiv, and the funding pool received exactly the fees.
    function invariant_splitExact() public view {
        assertEq(handler.ghostSplitMismatches(), 0, "every split matched");
        assertEq(
            handler.ghostRoyalty() + handler.ghostFee() + handler.ghostProviderShare(),
            handler.ghostPaid(),
            "royalty + fee + provider share == paid"
        );
        assertEq(
            channels.earnings(channels.fundingPool()) + handler.ghostFeesWithdrawn(),
            handler.ghostFee(),
            "funding pool received exactly the fees"
        );
        assertEq(
            _unwithdrawnRoyalties() + handler.ghostModelEarningsWithdrawn(),
            handler.ghostRoyalty(),
            "models received exactly the royalties"
        );
    }

    /// @notice Royalties accrue to the model, never to an address: each model holds exactly the
    ///         royalties paid on its channels less what its owners withdrew, model owners' accounts
    ///         earn nothing, and only a model's current owner ever withdrew its royalties.
    function invariant_royaltiesAccrueToModels() public view {
        uint256[] memory modelIds = handler.modelIds();
        for (uint256 i; i < modelIds.length; ++i) {
            uint256 id = modelIds[i];
            assertEq(
                channels.modelEarnings(id) + handler.ghostRoyaltyWithdrawnOf(id),
                handler.ghostRoyaltyOf(id),
                "model earnings == royalties paid on it - withdrawn"
            );
        }
        address[] memory creators = handler.creators();
        for (uint256 i; i < creators.length; ++i) {
            assertEq(channels.earnings(creators[i]), 0, "royalties never credited to an owner's account");
        }
        assertEq(handler.ghostUnauthorizedWithdrawals(), 0, "only the current owner withdraws");
    }
}
