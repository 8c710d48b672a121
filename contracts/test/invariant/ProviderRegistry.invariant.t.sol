// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {InvariantTest} from "./InvariantTest.sol";
import {TestToken} from "../../src/TestToken.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {ProviderRegistryHandler} from "./handlers/ProviderRegistryHandler.sol";

/// @notice Invariants of ProviderRegistry under random sequences of provider actions.
contract ProviderRegistryInvariantTest is InvariantTest {
    TestToken internal token;
    ProviderRegistry internal registry;
    ProviderRegistryHandler internal handler;

    function setUp() public {
        vm.warp(START_TIME);
        token = new TestToken("Stake", "STK", 18);
        ModelRegistry models = new ModelRegistry();
        registry = new ProviderRegistry(IERC20(address(token)), models, 100e18, 7 days);
        handler = new ProviderRegistryHandler(registry, token, models, START_TIME);
        targetContract(address(handler));
    }

    /// @notice Stake in == stake out + stake held, and what is held is every provider's stake plus
    ///         what is unstaking; nothing was withdrawn before its delay.
    function invariant_stakeConserved() public view {
        uint256 held = token.balanceOf(address(registry));
        assertEq(handler.ghostStaked(), handler.ghostWithdrawn() + held, "staked == withdrawn + held");
        uint256 owed;
        address[] memory accounts = handler.accounts();
        for (uint256 i; i < accounts.length; ++i) {
            ProviderRegistry.Provider memory p = registry.getProvider(accounts[i]);
            owed += p.stake + p.unstaking;
        }
        assertEq(held, owed, "held == sum(stake + unstaking)");
        assertEq(handler.ghostEarlyWithdrawals(), 0, "no withdrawal before the delay");
    }

    /// @notice An offer is usable only from an active provider that has not paused, and every
    ///         registration is listed once.
    function invariant_offersNeedActiveProvider() public view {
        address[] memory accounts = handler.accounts();
        uint256[] memory modelIds = handler.modelIds();
        for (uint256 i; i < accounts.length; ++i) {
            ProviderRegistry.Provider memory p = registry.getProvider(accounts[i]);
            assertEq(registry.isActive(accounts[i]), p.registered && p.stake >= registry.minStake(), "isActive");
            assertEq(p.paused, handler.ghostPaused(accounts[i]), "paused as last set");
            for (uint256 m; m < modelIds.length; ++m) {
                if (registry.hasOffer(accounts[i], modelIds[m])) {
                    assertTrue(registry.isActive(accounts[i]), "hasOffer implies active");
                    assertFalse(p.paused, "hasOffer implies not paused");
                }
            }
            ProviderRegistry.Offer[] memory offers = registry.getOffers(accounts[i]);
            for (uint256 o; o < offers.length; ++o) {
                uint256 capabilities = offers[o].capabilities;
                assertTrue(capabilities != 0, "every offer declares a capability");
                assertEq(capabilities, handler.ghostCapabilities(accounts[i], offers[o].modelId), "capabilities as last set");
            }
        }
        assertEq(registry.getProviders().length, handler.ghostRegistrations(), "every registration listed once");
    }
}
