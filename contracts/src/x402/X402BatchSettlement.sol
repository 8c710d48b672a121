// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Multicall} from "@openzeppelin/contracts/utils/Multicall.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @notice What pulls a deposit's tokens from its payer into X402BatchSettlement.
interface IDepositCollector {
    /// @notice Moves `amount` of `token` from `payer` to the caller (X402BatchSettlement), as
    ///         `data` authorizes it for `channelId`.
    function collect(address payer, address token, uint256 amount, bytes32 channelId, bytes calldata data) external;
}

/// @title X402BatchSettlement
/// @notice Gotong's implementation of the x402 `batch-settlement` EVM channel contract, to the ABI
///         the published x402 EVM client and facilitator (npm `x402/evm`) call (`deposit` through a collector,
///         cumulative `Voucher`s, `claimWithSignature` batches, `settle` to the receiver, a delayed
///         payer withdrawal and a receiver's refund). Its EIP-712 domain is "x402 Batch Settlement",
///         version "1", bound to the contract's own address: on a local devnet Gotong installs this
///         runtime code at the canonical address (`anvil_setCode`), on a real network the canonical
///         contract is there already. It holds no constructor state, so its code works wherever it is.
///
///         A channel is the hash of its `ChannelConfig`; `balance` is everything deposited less what
///         was withdrawn or refunded, `totalClaimed` the cumulative amount the receiver claimed. A
///         claim moves `totalClaimed` up to at most the payer's latest voucher and the balance; a
///         `settle` pays a receiver everything it claimed and has not been paid. Gotong's receiver is
///         the X402Splitter payee of a (provider, model) pair, which splits what it is paid as a
///         voucher redeem does.
/// @dev Money conservation: the contract's token balance = Σ balance − Σ totalClaimed (unclaimed
///      deposits) + Σ (receiver totalClaimed − totalSettled) (claimed, unpaid). Checked by the
///      invariant suite.
contract X402BatchSettlement is Multicall, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- types

    /// @notice The immutable terms of a channel; its id is this struct's EIP-712 hash.
    /// @param payer Who deposits, and gets the unclaimed balance back.
    /// @param payerAuthorizer Who signs vouchers (zero: the payer, by ECDSA or ERC-1271).
    /// @param receiver Who is paid what is claimed.
    /// @param receiverAuthorizer Who signs claim batches and refunds.
    /// @param token The ERC-20 the channel holds.
    /// @param withdrawDelay Seconds between a payer's withdrawal request and its payout.
    /// @param salt Tells apart channels with otherwise equal terms.
    struct ChannelConfig {
        address payer;
        address payerAuthorizer;
        address receiver;
        address receiverAuthorizer;
        address token;
        uint40 withdrawDelay;
        bytes32 salt;
    }

    /// @notice A payer's cumulative voucher: the receiver may claim up to `maxClaimableAmount`.
    struct Voucher {
        ChannelConfig channel;
        uint128 maxClaimableAmount;
    }

    /// @notice One entry of a claim batch: a voucher, its signature, the new cumulative claim.
    struct VoucherClaim {
        Voucher voucher;
        bytes signature;
        uint128 totalClaimed;
    }

    /// @notice A channel's money.
    struct ChannelState {
        uint128 balance;
        uint128 totalClaimed;
    }

    /// @notice A payer's pending withdrawal.
    struct PendingWithdrawal {
        uint128 amount;
        uint40 initiatedAt;
    }

    /// @notice What a receiver has claimed and been paid, in one token.
    struct ReceiverState {
        uint128 totalClaimed;
        uint128 totalSettled;
    }

    // ---------------------------------------------------------------- errors

    /// @notice A deposit of nothing.
    error ZeroDeposit();

    /// @notice The channel's withdraw delay is outside [MIN_WITHDRAW_DELAY, MAX_WITHDRAW_DELAY].
    /// @param withdrawDelay The delay given.
    error WithdrawDelayOutOfRange(uint40 withdrawDelay);

    /// @notice The collector moved another amount than the deposit's.
    /// @param expected The deposit.
    /// @param received What arrived.
    error DepositAmountMismatch(uint256 expected, uint256 received);

    /// @notice The voucher is not signed by the channel's payer (or payer authorizer).
    /// @param channelId The channel.
    error InvalidVoucherSignature(bytes32 channelId);

    /// @notice The claim batch (or refund) is not signed by the channel's receiver authorizer.
    /// @param receiverAuthorizer The authorizer expected.
    error InvalidAuthorizerSignature(address receiverAuthorizer);

    /// @notice The caller is not the channel's receiver authorizer (or receiver).
    /// @param caller The caller.
    error NotReceiverAuthorizer(address caller);

    /// @notice The caller is not the channel's payer.
    /// @param caller The caller.
    error NotPayer(address caller);

    /// @notice A claim beyond the voucher.
    /// @param totalClaimed The claim.
    /// @param maxClaimableAmount The voucher.
    error ClaimExceedsVoucher(uint128 totalClaimed, uint128 maxClaimableAmount);

    /// @notice A claim beyond what the channel holds.
    /// @param totalClaimed The claim.
    /// @param balance The channel's balance.
    error ClaimExceedsBalance(uint128 totalClaimed, uint128 balance);

    /// @notice The receiver has nothing claimed and unpaid in the token.
    /// @param receiver The receiver.
    /// @param token The token.
    error NothingToSettle(address receiver, address token);

    /// @notice A refund of more than the channel's unclaimed balance, or of nothing.
    /// @param amount The refund asked.
    /// @param refundable The unclaimed balance.
    error RefundAmountInvalid(uint128 amount, uint128 refundable);

    /// @notice A signed refund whose nonce is not the channel's next.
    /// @param nonce The nonce given.
    /// @param expected The channel's refund nonce.
    error RefundNonceMismatch(uint256 nonce, uint256 expected);

    /// @notice No withdrawal is pending on the channel.
    /// @param channelId The channel.
    error NoPendingWithdrawal(bytes32 channelId);

    /// @notice The withdrawal's delay has not passed.
    /// @param readyAt When it can be finalized.
    error WithdrawalNotReady(uint256 readyAt);

    // ---------------------------------------------------------------- events

    /// @notice Tokens were deposited into a channel.
    /// @param channelId The channel.
    /// @param payer The payer.
    /// @param amount The deposit.
    /// @param balance The channel's balance after it.
    event Deposited(bytes32 indexed channelId, address indexed payer, uint128 amount, uint128 balance);

    /// @notice A voucher was claimed.
    /// @param channelId The channel.
    /// @param receiver The receiver credited.
    /// @param claimed What this claim added.
    /// @param totalClaimed The channel's cumulative claim after it.
    event Claimed(bytes32 indexed channelId, address indexed receiver, uint128 claimed, uint128 totalClaimed);

    /// @notice A receiver was paid what it had claimed (the name and fields the published facilitator parses).
    /// @param receiver The receiver.
    /// @param token The token.
    /// @param sender Who called `settle`.
    /// @param amount The payment.
    event Settled(address indexed receiver, address indexed token, address indexed sender, uint128 amount);

    /// @notice A payer asked to withdraw.
    /// @param channelId The channel.
    /// @param amount The amount asked.
    /// @param readyAt When it can be finalized.
    event WithdrawInitiated(bytes32 indexed channelId, uint128 amount, uint256 readyAt);

    /// @notice A withdrawal (or refund) paid the payer back.
    /// @param channelId The channel.
    /// @param payer The payer.
    /// @param amount The payout.
    /// @param refund Whether the receiver refunded it (else the payer withdrew it).
    event Withdrawn(bytes32 indexed channelId, address indexed payer, uint128 amount, bool refund);

    // ---------------------------------------------------------------- constants and storage

    /// @notice The shortest withdraw delay a channel may have (15 minutes).
    uint40 public constant MIN_WITHDRAW_DELAY = 900;
    /// @notice The longest withdraw delay a channel may have (30 days).
    uint40 public constant MAX_WITHDRAW_DELAY = 2_592_000;

    /// @notice The EIP-712 type of a channel's config (its id is the typed hash of it).
    bytes32 public constant CHANNEL_CONFIG_TYPEHASH = keccak256(
        "ChannelConfig(address payer,address payerAuthorizer,address receiver,address receiverAuthorizer,address token,uint40 withdrawDelay,bytes32 salt)"
    );
    bytes32 private constant VOUCHER_TYPEHASH = keccak256("Voucher(bytes32 channelId,uint128 maxClaimableAmount)");
    bytes32 private constant REFUND_TYPEHASH = keccak256("Refund(bytes32 channelId,uint256 nonce,uint128 amount)");
    bytes32 private constant CLAIM_BATCH_TYPEHASH = keccak256(
        "ClaimBatch(ClaimEntry[] claims)ClaimEntry(bytes32 channelId,uint128 maxClaimableAmount,uint128 totalClaimed)"
    );
    bytes32 private constant CLAIM_ENTRY_TYPEHASH =
        keccak256("ClaimEntry(bytes32 channelId,uint128 maxClaimableAmount,uint128 totalClaimed)");
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant NAME_HASH = keccak256("x402 Batch Settlement");
    bytes32 private constant VERSION_HASH = keccak256("1");

    /// @notice Each channel's balance and cumulative claim.
    mapping(bytes32 channelId => ChannelState) public channels;
    /// @notice Each channel's pending payer withdrawal.
    mapping(bytes32 channelId => PendingWithdrawal) public pendingWithdrawals;
    /// @notice What each receiver claimed and was paid, per token.
    mapping(address receiver => mapping(address token => ReceiverState)) public receivers;
    /// @notice The next nonce a signed refund of each channel must carry.
    mapping(bytes32 channelId => uint256) public refundNonce;

    // ---------------------------------------------------------------- external

    /// @notice Deposits `amount` into the channel of `config`, pulled from the payer by `collector`
    ///         (e.g. ERC3009DepositCollector, from an EIP-3009 `receiveWithAuthorization` bound to
    ///         the channel). Anyone may submit it: the payer's authorization says where it goes.
    /// @param config The channel's terms.
    /// @param amount The deposit, in token base units.
    /// @param collector The collector that pulls it.
    /// @param collectorData The collector's authorization data.
    function deposit(ChannelConfig calldata config, uint128 amount, address collector, bytes calldata collectorData)
        external
        nonReentrant
    {
        if (amount == 0) revert ZeroDeposit();
        if (config.withdrawDelay < MIN_WITHDRAW_DELAY || config.withdrawDelay > MAX_WITHDRAW_DELAY) {
            revert WithdrawDelayOutOfRange(config.withdrawDelay);
        }
        bytes32 channelId = getChannelId(config);
        IERC20 token = IERC20(config.token);
        uint256 before = token.balanceOf(address(this));
        IDepositCollector(collector).collect(config.payer, config.token, amount, channelId, collectorData);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert DepositAmountMismatch(amount, received);
        ChannelState storage channel = channels[channelId];
        uint128 balance = channel.balance + amount;
        channel.balance = balance;
        emit Deposited(channelId, config.payer, amount, balance);
    }

    /// @notice Claims a batch of vouchers, authorized by each channel's receiver authorizer's
    ///         signature over the batch (EIP-712 `ClaimBatch`). Anyone may submit it.
    /// @param voucherClaims The claims.
    /// @param authorizerSignature The receiver authorizer's signature of `getClaimBatchDigest`.
    function claimWithSignature(VoucherClaim[] calldata voucherClaims, bytes calldata authorizerSignature)
        external
        nonReentrant
    {
        bytes32 digest = getClaimBatchDigest(voucherClaims);
        address verified;
        for (uint256 i; i < voucherClaims.length; ++i) {
            address authorizer = voucherClaims[i].voucher.channel.receiverAuthorizer;
            // One check per authorizer in a row: a batch is usually one provider's.
            if (authorizer != verified) {
                if (!SignatureChecker.isValidSignatureNow(authorizer, digest, authorizerSignature)) {
                    revert InvalidAuthorizerSignature(authorizer);
                }
                verified = authorizer;
            }
            _claim(voucherClaims[i]);
        }
    }

    /// @notice Claims a batch of vouchers; the caller must be each channel's receiver authorizer or receiver.
    /// @param voucherClaims The claims.
    function claim(VoucherClaim[] calldata voucherClaims) external nonReentrant {
        for (uint256 i; i < voucherClaims.length; ++i) {
            ChannelConfig calldata config = voucherClaims[i].voucher.channel;
            if (msg.sender != config.receiverAuthorizer && msg.sender != config.receiver) {
                revert NotReceiverAuthorizer(msg.sender);
            }
            _claim(voucherClaims[i]);
        }
    }

    /// @notice Pays `receiver` everything it claimed in `token` and was not yet paid. Anyone may
    ///         call it: the money goes only to the receiver.
    /// @param receiver The receiver.
    /// @param token The token.
    function settle(address receiver, address token) external nonReentrant {
        ReceiverState storage state = receivers[receiver][token];
        uint128 amount = state.totalClaimed - state.totalSettled;
        if (amount == 0) revert NothingToSettle(receiver, token);
        state.totalSettled = state.totalClaimed;
        IERC20(token).safeTransfer(receiver, amount);
        emit Settled(receiver, token, msg.sender, amount);
    }

    /// @notice Asks to withdraw up to `amount` of the channel's unclaimed balance after its
    ///         withdraw delay; the receiver can still claim its vouchers until then.
    /// @param config The channel's terms; the caller must be its payer.
    /// @param amount The amount asked.
    function initiateWithdraw(ChannelConfig calldata config, uint128 amount) external {
        if (msg.sender != config.payer) revert NotPayer(msg.sender);
        bytes32 channelId = getChannelId(config);
        pendingWithdrawals[channelId] = PendingWithdrawal(amount, uint40(block.timestamp));
        emit WithdrawInitiated(channelId, amount, block.timestamp + config.withdrawDelay);
    }

    /// @notice Pays the payer its pending withdrawal, at most the unclaimed balance, once the delay passed.
    /// @param config The channel's terms. Anyone may call it: the money goes to the payer.
    function finalizeWithdraw(ChannelConfig calldata config) external nonReentrant {
        bytes32 channelId = getChannelId(config);
        PendingWithdrawal memory pending = pendingWithdrawals[channelId];
        if (pending.initiatedAt == 0) revert NoPendingWithdrawal(channelId);
        uint256 readyAt = uint256(pending.initiatedAt) + config.withdrawDelay;
        if (block.timestamp < readyAt) revert WithdrawalNotReady(readyAt);
        delete pendingWithdrawals[channelId];
        ChannelState storage channel = channels[channelId];
        uint128 unclaimed = channel.balance - channel.totalClaimed;
        uint128 amount = pending.amount < unclaimed ? pending.amount : unclaimed;
        channel.balance -= amount;
        if (amount != 0) IERC20(config.token).safeTransfer(config.payer, amount);
        emit Withdrawn(channelId, config.payer, amount, false);
    }

    /// @notice The receiver authorizer gives back `amount` of the unclaimed balance to the payer.
    /// @param config The channel's terms; the caller must be its receiver authorizer or receiver.
    /// @param amount The refund.
    function refund(ChannelConfig calldata config, uint128 amount) external nonReentrant {
        if (msg.sender != config.receiverAuthorizer && msg.sender != config.receiver) revert NotReceiverAuthorizer(msg.sender);
        _refund(config, getChannelId(config), amount);
    }

    /// @notice A refund signed by the receiver authorizer (EIP-712 `Refund`), submitted by anyone.
    /// @param config The channel's terms.
    /// @param amount The refund.
    /// @param nonce The channel's refund nonce.
    /// @param receiverAuthorizerSignature The authorizer's signature of `getRefundDigest`.
    function refundWithSignature(
        ChannelConfig calldata config,
        uint128 amount,
        uint256 nonce,
        bytes calldata receiverAuthorizerSignature
    ) external nonReentrant {
        bytes32 channelId = getChannelId(config);
        uint256 expected = refundNonce[channelId];
        if (nonce != expected) revert RefundNonceMismatch(nonce, expected);
        if (!SignatureChecker.isValidSignatureNow(
                config.receiverAuthorizer, getRefundDigest(channelId, nonce, amount), receiverAuthorizerSignature
            )) revert InvalidAuthorizerSignature(config.receiverAuthorizer);
        _refund(config, channelId, amount);
    }

    // ---------------------------------------------------------------- views

    /// @notice A channel's id: the EIP-712 hash of its config under this contract's domain.
    /// @param config The channel's terms.
    /// @return The channel id.
    function getChannelId(ChannelConfig calldata config) public view returns (bytes32) {
        return _hashTyped(
            keccak256(
                abi.encode(
                    CHANNEL_CONFIG_TYPEHASH,
                    config.payer,
                    config.payerAuthorizer,
                    config.receiver,
                    config.receiverAuthorizer,
                    config.token,
                    config.withdrawDelay,
                    config.salt
                )
            )
        );
    }

    /// @notice The digest a payer signs for a voucher.
    /// @param channelId The channel.
    /// @param maxClaimableAmount The cumulative amount.
    /// @return The EIP-712 digest.
    function getVoucherDigest(bytes32 channelId, uint128 maxClaimableAmount) public view returns (bytes32) {
        return _hashTyped(keccak256(abi.encode(VOUCHER_TYPEHASH, channelId, maxClaimableAmount)));
    }

    /// @notice The digest a receiver authorizer signs for a refund.
    /// @param channelId The channel.
    /// @param nonce The channel's refund nonce.
    /// @param amount The refund.
    /// @return The EIP-712 digest.
    function getRefundDigest(bytes32 channelId, uint256 nonce, uint128 amount) public view returns (bytes32) {
        return _hashTyped(keccak256(abi.encode(REFUND_TYPEHASH, channelId, nonce, amount)));
    }

    /// @notice The digest a receiver authorizer signs for a claim batch.
    /// @param voucherClaims The claims.
    /// @return The EIP-712 digest.
    function getClaimBatchDigest(VoucherClaim[] calldata voucherClaims) public view returns (bytes32) {
        bytes32[] memory entries = new bytes32[](voucherClaims.length);
        for (uint256 i; i < voucherClaims.length; ++i) {
            VoucherClaim calldata c = voucherClaims[i];
            entries[i] = keccak256(
                abi.encode(
                    CLAIM_ENTRY_TYPEHASH, getChannelId(c.voucher.channel), c.voucher.maxClaimableAmount, c.totalClaimed
                )
            );
        }
        return _hashTyped(keccak256(abi.encode(CLAIM_BATCH_TYPEHASH, keccak256(abi.encodePacked(entries)))));
    }

    // ---------------------------------------------------------------- internal

    /// @dev Moves a channel's cumulative claim up to `c.totalClaimed` (a claim at or below it is a no-op,
    ///      so a batch racing an earlier one of the same vouchers does not revert).
    function _claim(VoucherClaim calldata c) internal {
        ChannelConfig calldata config = c.voucher.channel;
        bytes32 channelId = getChannelId(config);
        address signer = config.payerAuthorizer == address(0) ? config.payer : config.payerAuthorizer;
        if (!SignatureChecker.isValidSignatureNow(
                signer, getVoucherDigest(channelId, c.voucher.maxClaimableAmount), c.signature
            )) revert InvalidVoucherSignature(channelId);
        if (c.totalClaimed > c.voucher.maxClaimableAmount) {
            revert ClaimExceedsVoucher(c.totalClaimed, c.voucher.maxClaimableAmount);
        }
        ChannelState storage channel = channels[channelId];
        (uint128 balance, uint128 already) = (channel.balance, channel.totalClaimed);
        if (c.totalClaimed > balance) revert ClaimExceedsBalance(c.totalClaimed, balance);
        if (c.totalClaimed <= already) return;
        uint128 added = c.totalClaimed - already;
        channel.totalClaimed = c.totalClaimed;
        receivers[config.receiver][config.token].totalClaimed += added;
        emit Claimed(channelId, config.receiver, added, c.totalClaimed);
    }

    /// @dev Pays `amount` of the unclaimed balance back to the payer and advances the refund nonce.
    function _refund(ChannelConfig calldata config, bytes32 channelId, uint128 amount) internal {
        ChannelState storage channel = channels[channelId];
        uint128 refundable = channel.balance - channel.totalClaimed;
        if (amount == 0 || amount > refundable) revert RefundAmountInvalid(amount, refundable);
        channel.balance -= amount;
        ++refundNonce[channelId];
        IERC20(config.token).safeTransfer(config.payer, amount);
        emit Withdrawn(channelId, config.payer, amount, true);
    }

    /// @dev The EIP-712 digest of a struct hash under this contract's domain (its own address, so the
    ///      code works wherever it is installed).
    function _hashTyped(bytes32 structHash) internal view returns (bytes32) {
        bytes32 domainSeparator =
            keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this)));
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash));
    }
}
