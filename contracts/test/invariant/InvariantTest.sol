// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Test} from "../utils/Test.sol";
import {TestToken} from "../../src/TestToken.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";

/// @notice What the invariant suites share: a start time, the tokens and registries the channel
///         suites deploy first, and pointing the run at one handler.
abstract contract InvariantTest is Test {
    uint256 internal constant START_TIME = 1_700_000_000;

    /// @dev Moves to `START_TIME` and deploys a 6-decimal usd, a stake token, the model registry and
    ///      a provider registry with a 1e18 minimum stake and a 7-day unstake delay.
    function _deployRegistries()
        internal
        returns (TestToken usd, TestToken stakeToken, ModelRegistry models, ProviderRegistry providers)
    {
        vm.warp(START_TIME);
        usd = new TestToken("Gotong Test USD", "tUSD", 6);
        stakeToken = new TestToken("Stake", "STK", 18);
        models = new ModelRegistry();
        providers = new ProviderRegistry(IERC20(address(stakeToken)), models, 1e18, 7 days);
    }

    /// @dev Makes the run call only `selectors` of `handler`.
    function _targetHandler(address handler, bytes4[] memory selectors) internal {
        targetSelector(FuzzSelector({addr: handler, selectors: selectors}));
        targetContract(handler);
    }
}
