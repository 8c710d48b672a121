// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TestBase} from "../../utils/TestBase.sol";
import {TestToken} from "../../../src/TestToken.sol";
import {ModelRegistry} from "../../../src/ModelRegistry.sol";
import {ProviderRegistry} from "../../../src/ProviderRegistry.sol";

/// @notice Drives ProviderRegistry through random valid sequences of registration, staking,
///         unstaking, withdrawal, offer changes and pauses, keeping ghost totals of stake in and out.
contract ProviderRegistryHandler is TestBase {
    uint256 internal constant ACCOUNTS = 4;
    uint256 internal constant MAX_AMOUNT = 1e27;

    ProviderRegistry public immutable registry;
    TestToken public immutable token;
    address[] internal _accounts;
    uint256[] internal _modelIds;

    uint256 public currentTime;
    uint256 public ghostStaked;
    uint256 public ghostWithdrawn;
    uint256 public ghostEarlyWithdrawals;
    uint256 public ghostRegistrations;
    /// @dev Whether each account last paused (true) or resumed (false) its offers.
    mapping(address account => bool) public ghostPaused;
    /// @dev The capabilities each (account, model) offer was last set with.
    mapping(address account => mapping(uint256 modelId => uint256)) public ghostCapabilities;

    modifier useTime() {
        vm.warp(currentTime);
        _;
    }

    constructor(ProviderRegistry registry_, TestToken token_, ModelRegistry models, uint256 startTime) {
        registry = registry_;
        token = token_;
        currentTime = startTime;
        for (uint256 i; i < ACCOUNTS; ++i) {
            address account = makeAddr(string.concat("account", vm.toString(i)));
            _accounts.push(account);
            vm.prank(account);
            token_.approve(address(registry_), type(uint256).max);
        }
        for (uint256 i; i < 2; ++i) {
            _modelIds.push(models.register("m", keccak256(abi.encode(i)), bytes32(0), "", 0));
        }
    }

    function register(uint256 accountSeed, uint256 amount) external useTime {
        address account = _accounts[accountSeed % ACCOUNTS];
        if (registry.getProvider(account).registered) return;
        amount = bound(amount, registry.minStake(), MAX_AMOUNT);
        token.mint(account, amount);
        vm.prank(account);
        registry.register("https://p", keccak256(abi.encode(account)), amount);
        ghostStaked += amount;
        ghostRegistrations++;
    }

    function addStake(uint256 accountSeed, uint256 amount) external useTime {
        address account = _accounts[accountSeed % ACCOUNTS];
        if (!registry.getProvider(account).registered) return;
        amount = bound(amount, 1, MAX_AMOUNT);
        token.mint(account, amount);
        vm.prank(account);
        registry.addStake(amount);
        ghostStaked += amount;
    }

    function requestUnstake(uint256 accountSeed, uint256 amount) external useTime {
        address account = _accounts[accountSeed % ACCOUNTS];
        ProviderRegistry.Provider memory p = registry.getProvider(account);
        if (!p.registered || p.stake == 0) return;
        amount = bound(amount, 1, p.stake);
        vm.prank(account);
        registry.requestUnstake(amount);
    }

    function withdrawStake(uint256 accountSeed) external useTime {
        address account = _accounts[accountSeed % ACCOUNTS];
        ProviderRegistry.Provider memory p = registry.getProvider(account);
        if (!p.registered || p.unstaking == 0) return;
        vm.prank(account);
        (bool ok,) = address(registry).call(abi.encodeCall(ProviderRegistry.withdrawStake, ()));
        if (block.timestamp < p.unstakeReadyAt) {
            if (ok) ghostEarlyWithdrawals++;
        } else {
            if (!ok) revert("withdrawStake failed after the delay");
            ghostWithdrawn += p.unstaking;
        }
    }

    function setOffer(uint256 accountSeed, uint256 modelSeed, uint256 price, uint256 capabilities) external useTime {
        address account = _accounts[accountSeed % ACCOUNTS];
        if (!registry.getProvider(account).registered) return;
        uint256 modelId = _modelIds[modelSeed % _modelIds.length];
        capabilities = bound(capabilities, 1, type(uint256).max);
        vm.prank(account);
        registry.setOffer(modelId, price, price / 2, capabilities);
        ghostCapabilities[account][modelId] = capabilities;
    }

    function removeOffer(uint256 accountSeed, uint256 modelSeed) external useTime {
        address account = _accounts[accountSeed % ACCOUNTS];
        uint256 modelId = _modelIds[modelSeed % _modelIds.length];
        if (!registry.getProvider(account).registered) return;
        ProviderRegistry.Offer[] memory offers = registry.getOffers(account);
        for (uint256 i; i < offers.length; ++i) {
            if (offers[i].modelId == modelId) {
                vm.prank(account);
                registry.removeOffer(modelId);
                return;
            }
        }
    }

    function setPaused(uint256 accountSeed, bool paused) external useTime {
        address account = _accounts[accountSeed % ACCOUNTS];
        if (!registry.getProvider(account).registered) return;
        vm.prank(account);
        registry.setPaused(paused);
        ghostPaused[account] = paused;
    }

    function warp(uint256 seconds_) external {
        currentTime += bound(seconds_, 1, 10 days);
    }

    function accounts() external view returns (address[] memory) {
        return _accounts;
    }

    function modelIds() external view returns (uint256[] memory) {
        return _modelIds;
    }
}
