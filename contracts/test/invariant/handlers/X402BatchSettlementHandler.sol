// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TestBase} from "../../utils/TestBase.sol";
import {TestToken} from "../../../src/TestToken.sol";
import {X402BatchSettlement} from "../../../src/x402/X402BatchSettlement.sol";

/// @notice Drives X402BatchSettlement (installed at its canonical address) through random valid
///         sequences: ERC-3009 deposits through the collector, vouchers signed for more, claims
///         of part of the latest voucher (batched, with stale replays), settles, withdrawals asked
///         and finalized after the delay, refunds by the receiver's authorizer, time passing; and
///         keeps ghost totals for the invariants. Each action returns quietly when it has nothing
///         valid to do.
contract X402BatchSettlementHandler is TestBase {
    address internal constant COLLECTOR = 0x4020806089470a89826cB9fB1f4059150b550004;
    bytes32 internal constant RECEIVE_TYPEHASH = keccak256(
        "ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
    );
    uint256 internal constant PAYERS = 2;
    uint256 internal constant RECEIVERS = 2;

    X402BatchSettlement public immutable batch;
    TestToken public immutable usd;

    address[] internal _payers;
    uint256[] internal _payerKeys;
    address[] public receivers;
    address[] internal _authorizers;
    uint256[] internal _authorizerKeys;
    X402BatchSettlement.ChannelConfig[] internal _configs;
    bytes32[] public channelIds;
    /// @dev The highest voucher each channel's payer signed.
    mapping(bytes32 channelId => uint128) public signed;
    uint256 internal _salt;

    uint256 public ghostDeposited;
    uint256 public ghostReturned;
    uint256 public ghostSettled;
    mapping(address receiver => uint256) public ghostPaid;

    constructor(X402BatchSettlement batch_, TestToken usd_) {
        batch = batch_;
        usd = usd_;
        for (uint256 i; i < PAYERS; ++i) {
            (address payer, uint256 key) = makeAddrAndKey(string.concat("payer", vm.toString(i)));
            _payers.push(payer);
            _payerKeys.push(key);
        }
        for (uint256 j; j < RECEIVERS; ++j) {
            receivers.push(makeAddr(string.concat("receiver", vm.toString(j))));
            (address authorizer, uint256 key) = makeAddrAndKey(string.concat("authorizer", vm.toString(j)));
            _authorizers.push(authorizer);
            _authorizerKeys.push(key);
        }
        for (uint256 i; i < PAYERS; ++i) {
            for (uint256 j; j < RECEIVERS; ++j) {
                X402BatchSettlement.ChannelConfig memory c = X402BatchSettlement.ChannelConfig(
                    _payers[i], address(0), receivers[j], _authorizers[j], address(usd), 900, bytes32(i * 10 + j)
                );
                _configs.push(c);
                channelIds.push(batch.getChannelId(c));
            }
        }
    }

    function channelCount() external view returns (uint256) {
        return channelIds.length;
    }

    // ---------------------------------------------------------------- actions

    function deposit(uint256 which, uint256 amount) external {
        uint256 c = which % _configs.length;
        X402BatchSettlement.ChannelConfig memory config = _configs[c];
        amount = bound(amount, 1, 1_000e6);
        uint256 payerKey = _payerKeys[c / RECEIVERS];
        usd.mint(config.payer, amount);
        uint256 salt = ++_salt;
        bytes32 nonce = keccak256(abi.encode(channelIds[c], salt));
        uint256 validBefore = block.timestamp + 60;
        bytes32 digest = keccak256(
            abi.encodePacked(
                "\x19\x01",
                _tokenDomain(),
                keccak256(abi.encode(RECEIVE_TYPEHASH, config.payer, COLLECTOR, amount, 0, validBefore, nonce))
            )
        );
        batch.deposit(config, uint128(amount), COLLECTOR, abi.encode(uint256(0), validBefore, salt, signDigest(payerKey, digest)));
        ghostDeposited += amount;
    }

    /// @dev The payer signs a voucher for more (within the balance) and the receiver's authorizer
    ///      claims part of it, sometimes together with a stale claim of the same channel.
    function claim(uint256 which, uint256 more, uint256 part, bool replayStale) external {
        uint256 c = which % _configs.length;
        bytes32 id = channelIds[c];
        (uint128 balance, uint128 claimed) = batch.channels(id);
        if (balance == 0) return;
        uint128 voucher = signed[id];
        if (voucher < balance) voucher += uint128(bound(more, 0, balance - voucher));
        signed[id] = voucher;
        // A withdrawal or refund may have left the balance below an earlier voucher: claim within both.
        uint128 ceiling = voucher < balance ? voucher : balance;
        if (ceiling <= claimed) return;
        uint128 total = claimed + uint128(bound(part, 1, ceiling - claimed));
        uint256 n = replayStale ? 2 : 1;
        X402BatchSettlement.VoucherClaim[] memory claims = new X402BatchSettlement.VoucherClaim[](n);
        bytes memory sig = signDigest(_payerKeys[c / RECEIVERS], batch.getVoucherDigest(id, voucher));
        claims[0] = X402BatchSettlement.VoucherClaim(X402BatchSettlement.Voucher(_configs[c], voucher), sig, total);
        if (replayStale) claims[1] = X402BatchSettlement.VoucherClaim(X402BatchSettlement.Voucher(_configs[c], voucher), sig, claimed);
        batch.claimWithSignature(claims, signDigest(_authorizerKeys[c % RECEIVERS], batch.getClaimBatchDigest(claims)));
    }

    function settle(uint256 which) external {
        address receiver = receivers[which % RECEIVERS];
        (uint128 claimed, uint128 settled) = batch.receivers(receiver, address(usd));
        if (claimed == settled) return;
        batch.settle(receiver, address(usd));
        ghostSettled += claimed - settled;
        ghostPaid[receiver] += claimed - settled;
    }

    function initiateWithdraw(uint256 which, uint256 amount) external {
        uint256 c = which % _configs.length;
        vm.prank(_configs[c].payer);
        batch.initiateWithdraw(_configs[c], uint128(bound(amount, 0, 2_000e6)));
    }

    function finalizeWithdraw(uint256 which) external {
        uint256 c = which % _configs.length;
        (uint128 asked, uint40 at) = batch.pendingWithdrawals(channelIds[c]);
        if (at == 0 || block.timestamp < uint256(at) + 900) return;
        (uint128 balance, uint128 claimed) = batch.channels(channelIds[c]);
        uint128 rest = balance - claimed;
        batch.finalizeWithdraw(_configs[c]);
        ghostReturned += asked < rest ? asked : rest;
    }

    function refund(uint256 which, uint256 amount) external {
        uint256 c = which % _configs.length;
        (uint128 balance, uint128 claimed) = batch.channels(channelIds[c]);
        if (balance == claimed) return;
        uint128 value = uint128(bound(amount, 1, balance - claimed));
        bytes32 id = channelIds[c];
        uint256 nonce = batch.refundNonce(id);
        batch.refundWithSignature(
            _configs[c], value, nonce, signDigest(_authorizerKeys[c % RECEIVERS], batch.getRefundDigest(id, nonce, value))
        );
        ghostReturned += value;
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 1_000));
    }

    function _tokenDomain() internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256(bytes(usd.name())),
                keccak256("2"),
                block.chainid,
                address(usd)
            )
        );
    }
}
