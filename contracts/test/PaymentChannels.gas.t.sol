// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./utils/Fixture.sol";
import {PaymentChannels} from "../src/PaymentChannels.sol";

/// @notice Gas of one `redeem` settling 1,000 requests, as bench/settlementGas.ts measures it on a
///         node: the provider, the funding pool and the model already credited once (their earnings
///         slots non-zero), every account and slot cold at the start of the transaction. `setUp`
///         does the warm-up redeem, so the measured call starts a fresh transaction (fresh access
///         lists and original values). Run with `-vv` to see the figures; `--isolate --gas-report`
///         reports the same transaction gas.
contract PaymentChannelsGasTest is Fixture {
    /// @dev Forge prints these in a test's logs.
    event log_named_uint(string key, uint256 val);

    /// @dev What the benchmark settles: 1,000 requests of 230 units each.
    uint256 internal constant COST_PER_REQUEST = 230;
    uint256 internal constant REQUESTS = 1000;

    /// @dev The benchmark's goal: one redeem costs at least 500x less than 1,000 ERC-20 transfers of
    ///      the same token, measured there at 34,453 gas each.
    uint256 internal constant GOAL_TX_GAS = 34_453 * REQUESTS / 500;

    /// @dev The deposit of the measured `open`.
    uint256 internal constant OPEN_DEPOSIT = 1e6;

    /// @dev Ceiling on the transaction gas of opening a fresh channel: 134,232 measured here before
    ///      channel ids took a salt, plus 1% (the salt adds a calldata word and a hashed word).
    uint256 internal constant OPEN_TX_GAS_CEILING = 135_574;

    /// @dev Intrinsic gas of a transaction and of its calldata bytes (EIP-2028).
    uint256 internal constant TX_BASE_GAS = 21_000;
    uint256 internal constant ZERO_BYTE_GAS = 4;
    uint256 internal constant NON_ZERO_BYTE_GAS = 16;

    /// @dev What a CALL to a cold account costs beyond a warm one (EIP-2929).
    uint256 internal constant COLD_ACCOUNT_EXTRA_GAS = 2_600 - 100;

    /// @dev A client that opens its first channel in the measured call (its token approval given
    ///      in `setUp`, as it is in a transaction of its own).
    address internal payer;

    bytes32 internal channelId;
    bytes internal redeemCall;

    function setUp() public override {
        super.setUp();
        payer = makeAddr("payer");
        usd.mint(payer, OPEN_DEPOSIT);
        vm.prank(payer);
        usd.approve(address(channels), OPEN_DEPOSIT);
        channelId = _open(COST_PER_REQUEST * REQUESTS);
        _redeem(channelId, 0, COST_PER_REQUEST); // provider, funding pool and model slots now non-zero
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, COST_PER_REQUEST * REQUESTS);
        redeemCall = abi.encodeCall(PaymentChannels.redeem, (voucher, _sign(senderKey, voucher)));
    }

    function _calldataGas(bytes memory data) internal pure returns (uint256 gas) {
        for (uint256 i; i < data.length; ++i) {
            gas += data[i] == 0 ? ZERO_BYTE_GAS : NON_ZERO_BYTE_GAS;
        }
    }

    /// @dev Gas a call of `target` with `data` uses as seen from here (return data is not copied,
    ///      so the figure does not depend on it).
    function _callGas(address target, bytes memory data) internal returns (uint256 used, bool ok) {
        assembly ("memory-safe") {
            let before := gas()
            ok := call(gas(), target, 0, add(data, 0x20), mload(data), 0, 0)
            used := sub(before, gas())
        }
    }

    /// @dev What measuring a call costs beyond the callee's own execution: the same call, with the
    ///      same calldata, to a warm account whose code is a single STOP, less the warm access.
    function _callOverhead(bytes memory data) internal returns (uint256) {
        address stop = makeAddr("stop");
        vm.etch(stop, hex"00");
        _callGas(stop, data); // warm it
        (uint256 used,) = _callGas(stop, data);
        return used - 100;
    }

    function test_redeem_gasWithWarmEarningsSlotsMeetsSettlementGoal() public {
        bytes memory data = redeemCall;
        uint256 overhead = _callOverhead(data);
        vm.prank(provider);
        (uint256 used, bool ok) = _callGas(address(channels), data);
        assertTrue(ok, "redeem succeeded");
        assertEq(channels.getChannel(channelId).redeemed, COST_PER_REQUEST * REQUESTS);

        // The redeem's own execution (`channels` was cold, as a transaction's `to` is not charged
        // for), plus what a transaction adds: the base cost and the calldata.
        uint256 execution = used - overhead - 100 - COLD_ACCOUNT_EXTRA_GAS;
        uint256 txGas = execution + TX_BASE_GAS + _calldataGas(data);
        emit log_named_uint("redeem execution gas (warm earnings slots)", execution);
        emit log_named_uint("redeem transaction gas", txGas);
        assertLe(txGas, GOAL_TX_GAS, "one redeem of 1,000 requests costs at most 1/500 of 1,000 transfers");
    }

    function test_open_gasOfAFreshChannelStaysNearWhatItWas() public {
        bytes memory data = abi.encodeCall(PaymentChannels.open, (provider, modelId, 0, OPEN_DEPOSIT));
        uint256 overhead = _callOverhead(data);
        vm.prank(payer);
        (uint256 used, bool ok) = _callGas(address(channels), data);
        assertTrue(ok, "open succeeded");
        assertEq(channels.getChannel(channels.channelIdOf(payer, provider, modelId, 0)).deposit, OPEN_DEPOSIT);

        uint256 execution = used - overhead - 100 - COLD_ACCOUNT_EXTRA_GAS;
        uint256 txGas = execution + TX_BASE_GAS + _calldataGas(data);
        emit log_named_uint("open execution gas (fresh channel)", execution);
        emit log_named_uint("open transaction gas", txGas);
        assertLe(txGas, OPEN_TX_GAS_CEILING, "a salt in the channel id costs next to nothing");
    }
}
