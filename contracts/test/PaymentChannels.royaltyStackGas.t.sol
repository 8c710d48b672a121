// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {LineageFixture} from "./utils/LineageFixture.sol";
import {PaymentChannels} from "../src/PaymentChannels.sol";

/// @notice Gas of paying a royalty stack: one `redeem` settling 1,000 requests to the leaf of a
///         chain of derivatives `depth` deep (each paying its parent 30% and a dataset 10% of its
///         royalty), and each `flowRoyalties` that carries the royalty from the leaf up to the
///         base, measured as PaymentChannels.gas.t.sol measures a redeem: every earnings slot
///         already credited once, every account and slot cold at the start of the transaction.
///         One transaction is measured per test contract, done after `setUp` (which runs the
///         transactions before it), so each starts fresh (access lists and original values).
///         Run with `-vv` to see the figures; the README's gas table adds them up.
abstract contract RoyaltyStackGasTest is LineageFixture {
    /// @dev Forge prints these in a test's logs.
    event log_named_uint(string key, uint256 val);

    uint256 internal constant COST_PER_REQUEST = 230;
    uint256 internal constant REQUESTS = 1000;
    uint256 internal constant WARM_UP = 100 * COST_PER_REQUEST;
    uint256 internal constant TX_BASE_GAS = 21_000;
    uint256 internal constant COLD_ACCOUNT_EXTRA_GAS = 2_600 - 100;

    /// @dev What a redeem costs at depth 0 (contracts/test/PaymentChannels.gas.t.sol's execution
    ///      figure): a redeem never reads the lineage, so it costs the same at any depth.
    uint256 internal constant REDEEM_EXECUTION_GAS = 37_368;

    /// @dev Ceiling on one level's flow (a parent and a dataset paid): a regression guard.
    uint256 internal constant FLOW_TX_GAS_CEILING = 100_000;

    /// @dev chain[0] is the base, chain[depth] the leaf that is paid.
    uint256[] internal chain;
    bytes32 internal channelId;
    bytes internal measuredCall;

    /// @dev How deep the leaf is.
    function _depth() internal pure virtual returns (uint256);

    /// @dev What is measured: 0 the redeem, `i` the flow of the `i`-th model from the leaf (1 = leaf).
    function _level() internal pure virtual returns (uint256);

    function setUp() public override {
        super.setUp();
        uint256 depth = _depth();
        chain.push(modelId);
        for (uint256 i = 1; i <= depth; ++i) {
            uint256 ds = _registerDataset(makeAddr("dataOwner"));
            chain.push(_registerDerivative(creator, ROYALTY_BPS, _parents(chain[i - 1], FINE_TUNE, 3000), _data(ds, 1000)));
        }
        uint256 leaf = chain[depth];
        vm.prank(provider);
        providers.setOffer(leaf, 1, 1, 1);
        channelId = _open(sender, provider, leaf, COST_PER_REQUEST * REQUESTS);
        // Warm-up: every slot the measured transactions write has been credited once (enough that
        // 30% of 30% ... still rounds to a unit five levels up), then the leaf is paid once more so
        // its pending royalties are non-zero, as between a model's flows (the redeem benchmark's
        // state). A parent's pending royalties start at zero: each flow's credit to its parent is
        // measured as a fresh slot, the dearer case.
        _redeem(channelId, 0, WARM_UP);
        _flowFromLeaf(depth + 1);
        _redeem(channelId, 0, WARM_UP + COST_PER_REQUEST);

        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, COST_PER_REQUEST * REQUESTS);
        bytes memory redeemCall = abi.encodeCall(PaymentChannels.redeem, (voucher, _sign(senderKey, voucher)));
        uint256 level = _level();
        if (level == 0) {
            measuredCall = redeemCall;
            return;
        }
        vm.prank(provider);
        (bool ok,) = address(channels).call(redeemCall);
        assertTrue(ok, "redeem succeeded");
        _flowFromLeaf(level - 1);
        measuredCall = abi.encodeCall(PaymentChannels.flowRoyalties, (chain[depth + 1 - level]));
    }

    /// @dev Flows the first `levels` models from the leaf up.
    function _flowFromLeaf(uint256 levels) internal {
        for (uint256 i; i < levels; ++i) {
            channels.flowRoyalties(chain[_depth() - i]);
        }
    }

    function _calldataGas(bytes memory data) internal pure returns (uint256 gas) {
        for (uint256 i; i < data.length; ++i) {
            gas += data[i] == 0 ? 4 : 16;
        }
    }

    function _callGas(address target, bytes memory data) internal returns (uint256 used, bool ok) {
        assembly ("memory-safe") {
            let before := gas()
            ok := call(gas(), target, 0, add(data, 0x20), mload(data), 0, 0)
            used := sub(before, gas())
        }
    }

    function _callOverhead(bytes memory data) internal returns (uint256) {
        address stop = makeAddr("stop");
        vm.etch(stop, hex"00");
        _callGas(stop, data);
        (uint256 used,) = _callGas(stop, data);
        return used - 100;
    }

    function test_gas() public {
        bytes memory data = measuredCall;
        uint256 overhead = _callOverhead(data);
        if (_level() == 0) vm.prank(provider);
        (uint256 used, bool ok) = _callGas(address(channels), data);
        assertTrue(ok, "measured call succeeded");
        uint256 execution = used - overhead - 100 - COLD_ACCOUNT_EXTRA_GAS;
        uint256 txGas = execution + TX_BASE_GAS + _calldataGas(data);
        emit log_named_uint("depth", _depth());
        emit log_named_uint("level (0 = redeem, i = flow of the i-th model from the leaf)", _level());
        emit log_named_uint("execution gas", execution);
        emit log_named_uint("transaction gas", txGas);
        if (_level() == 0) {
            assertEq(channels.getChannel(channelId).redeemed, COST_PER_REQUEST * REQUESTS);
            assertEq(execution, REDEEM_EXECUTION_GAS, "a redeem costs the same at any depth");
        } else {
            assertEq(channels.pendingRoyalties(chain[_depth() + 1 - _level()]), 0, "flowed");
            assertLe(txGas, FLOW_TX_GAS_CEILING, "one level's flow stays bounded");
        }
    }
}

contract RoyaltyStackGasDepth0Redeem is RoyaltyStackGasTest {
    function _depth() internal pure override returns (uint256) { return 0; }
    function _level() internal pure override returns (uint256) { return 0; }
}

contract RoyaltyStackGasDepth1Redeem is RoyaltyStackGasTest {
    function _depth() internal pure override returns (uint256) { return 1; }
    function _level() internal pure override returns (uint256) { return 0; }
}

contract RoyaltyStackGasDepth1Flow1 is RoyaltyStackGasTest {
    function _depth() internal pure override returns (uint256) { return 1; }
    function _level() internal pure override returns (uint256) { return 1; }
}

contract RoyaltyStackGasDepth3Redeem is RoyaltyStackGasTest {
    function _depth() internal pure override returns (uint256) { return 3; }
    function _level() internal pure override returns (uint256) { return 0; }
}

contract RoyaltyStackGasDepth3Flow1 is RoyaltyStackGasTest {
    function _depth() internal pure override returns (uint256) { return 3; }
    function _level() internal pure override returns (uint256) { return 1; }
}

contract RoyaltyStackGasDepth3Flow2 is RoyaltyStackGasTest {
    function _depth() internal pure override returns (uint256) { return 3; }
    function _level() internal pure override returns (uint256) { return 2; }
}

contract RoyaltyStackGasDepth3Flow3 is RoyaltyStackGasTest {
    function _depth() internal pure override returns (uint256) { return 3; }
    function _level() internal pure override returns (uint256) { return 3; }
}

contract RoyaltyStackGasDepth5Redeem is RoyaltyStackGasTest {
    function _depth() internal pure override returns (uint256) { return 5; }
    function _level() internal pure override returns (uint256) { return 0; }
}

contract RoyaltyStackGasDepth5Flow1 is RoyaltyStackGasTest {
    function _depth() internal pure override returns (uint256) { return 5; }
    function _level() internal pure override returns (uint256) { return 1; }
}

contract RoyaltyStackGasDepth5Flow2 is RoyaltyStackGasTest {
    function _depth() internal pure override returns (uint256) { return 5; }
    function _level() internal pure override returns (uint256) { return 2; }
}

contract RoyaltyStackGasDepth5Flow3 is RoyaltyStackGasTest {
    function _depth() internal pure override returns (uint256) { return 5; }
    function _level() internal pure override returns (uint256) { return 3; }
}

contract RoyaltyStackGasDepth5Flow4 is RoyaltyStackGasTest {
    function _depth() internal pure override returns (uint256) { return 5; }
    function _level() internal pure override returns (uint256) { return 4; }
}

contract RoyaltyStackGasDepth5Flow5 is RoyaltyStackGasTest {
    function _depth() internal pure override returns (uint256) { return 5; }
    function _level() internal pure override returns (uint256) { return 5; }
}
