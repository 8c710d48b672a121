// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ModelRegistry} from "./ModelRegistry.sol";
import {DatasetRegistry} from "./DatasetRegistry.sol";
import {ProviderRegistry} from "./ProviderRegistry.sol";
import {RevenueSplit} from "./libraries/RevenueSplit.sol";

/// @title PaymentChannels
/// @notice Unidirectional payment channels that pay for inference. A client (the sender) escrows
///         tokens for one (provider, model) pair, then pays each request by signing an EIP-712
///         voucher for the new cumulative amount. The provider redeems the latest voucher whenever
///         it likes, one or many channels per transaction. Each redeemed amount is split: the
///         model's royalty and the protocol fee (both fixed when the channel opened), the rest to
///         the provider. Payouts are credited to internal balances and withdrawn separately: the
///         provider's share and the fee to their accounts (`withdrawEarnings`), the royalty to the
///         model itself (`withdrawModelEarnings`, by whoever owns the model's token when withdrawing).
///
///         Royalties follow the token: they accrue to the model id, not to an address, so a
///         redemption never consults the model registry, and accrued, unwithdrawn royalties travel
///         with the token when it changes hands. A seller should withdraw before transferring; a
///         buyer acquires whatever the token has accrued and not been withdrawn (but should not pay
///         for it in advance: the seller can withdraw until the transfer happens).
///
///         Royalty stacks: a model registered with a lineage (ModelRegistry.registerDerivative)
///         owes shares of its royalty to its parents and to the datasets it was trained on. A
///         redemption still credits the whole royalty to the model (no lineage is read there, so a
///         redeem costs the same at any depth); `flowRoyalties` (permissionless, and run first by
///         `withdrawModelEarnings`) then pays each parent its share into the parent's own pending
///         royalties, each dataset its share into `datasetEarnings`, and keeps the rest for the
///         model's owner. A parent's pending royalties flow on up its own lineage the same way, so
///         the stack is paid transitively, and every base unit ends at exactly one party.
///
///         Closing: the sender starts a close, which opens a challenge period of `challengePeriod`
///         seconds during which the provider can still redeem its latest voucher; once it has ended
///         nothing more can be redeemed and the sender withdraws what is left. Withdrawing moves the
///         channel to its next epoch, so vouchers of an earlier epoch can never pay again.
///
///         Amounts above the deposit: a voucher pays up to `min(cumulativeAmount, deposit)`. The
///         excess is not lost: the same voucher (or a later one) pays it after a top-up.
///
///         Time boundary: the challenge period covers timestamps `< closesAt`. At `closesAt` and
///         after, redeeming is refused and withdrawing allowed.
///         A sender may hold several channels to the same (provider, model) at once, told apart by a
///         salt it chooses: so a client whose channel is closing opens a fresh one (the next salt)
///         and carries on, while the provider still redeems the closing one.
/// @dev Channel ids are `keccak256(abi.encode(sender, provider, modelId, salt))`; there is at most
///      one live channel (deposit above zero) per id. Every state-changing function is nonReentrant.
///      Channels are stored with a 32-bit model id (see `ModelIdTooLarge`), which packs a channel
///      into four slots.
contract PaymentChannels is EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- errors

    /// @notice The protocol fee is above the maximum.
    /// @param feeBps The fee asked for, in basis points.
    /// @param maximum The highest fee allowed, in basis points.
    error FeeTooHigh(uint16 feeBps, uint16 maximum);

    /// @notice The funding pool is the zero address.
    error ZeroFundingPool();

    /// @notice The challenge period is zero, which would leave a provider no time to redeem.
    error ZeroChallengePeriod();

    /// @notice An amount of zero was given, or zero tokens arrived.
    error ZeroAmount();

    /// @notice The provider is not active or has no offer for this model.
    /// @param provider The provider.
    /// @param modelId The model.
    error OfferNotFound(address provider, uint256 modelId);

    /// @notice A channel for this (sender, provider, model, salt) is already open: top it up, or
    ///         open another with a different salt.
    /// @param channelId The channel.
    error ChannelAlreadyOpen(bytes32 channelId);

    /// @notice The channel is not open: it was never opened, or was withdrawn and not reopened.
    /// @param channelId The channel.
    error ChannelNotOpen(bytes32 channelId);

    /// @notice Only the channel's sender may do this.
    /// @param channelId The channel.
    /// @param caller The account that tried.
    error NotChannelSender(bytes32 channelId, address caller);

    /// @notice Only the channel's provider may do this.
    /// @param channelId The channel.
    /// @param caller The account that tried.
    error NotChannelProvider(bytes32 channelId, address caller);

    /// @notice The voucher is for another epoch of the channel.
    /// @param channelEpoch The channel's current epoch.
    /// @param voucherEpoch The voucher's epoch.
    error WrongEpoch(uint64 channelEpoch, uint64 voucherEpoch);

    /// @notice The channel's challenge period has ended: nothing more can be redeemed.
    /// @param channelId The channel.
    /// @param closedAt When the challenge period ended.
    error ChannelClosed(bytes32 channelId, uint64 closedAt);

    /// @notice The voucher is not signed by the channel's sender.
    error InvalidVoucherSignature();

    /// @notice The voucher pays nothing more than what was already redeemed.
    /// @param redeemed The amount already redeemed on this channel epoch.
    /// @param cumulativeAmount The voucher's cumulative amount.
    error VoucherNotIncreasing(uint256 redeemed, uint256 cumulativeAmount);

    /// @notice The channel is already closing (a second close cannot reset the clock), or is
    ///         closing and so cannot be topped up.
    /// @param channelId The channel.
    /// @param closesAt When its challenge period ends.
    error ChannelAlreadyClosing(bytes32 channelId, uint64 closesAt);

    /// @notice The channel is not closing: start a close first.
    /// @param channelId The channel.
    error ChannelNotClosing(bytes32 channelId);

    /// @notice The challenge period has not ended yet.
    /// @param closesAt When it ends.
    /// @param now The current block timestamp.
    error ChallengePeriodActive(uint64 closesAt, uint64 now);

    /// @notice The vouchers and signatures arrays differ in length.
    /// @param vouchers The number of vouchers.
    /// @param signatures The number of signatures.
    error LengthMismatch(uint256 vouchers, uint256 signatures);

    /// @notice The account has no earnings to withdraw.
    /// @param account The account.
    error NothingToWithdraw(address account);

    /// @notice The model has no royalties to withdraw.
    /// @param modelId The model.
    error NoModelEarnings(uint256 modelId);

    /// @notice Only the current owner of the model's token may withdraw its royalties (also raised
    ///         for a model that does not exist).
    /// @param modelId The model.
    /// @param caller The account that tried.
    error NotModelOwner(uint256 modelId, address caller);

    /// @notice Earnings cannot be sent to the zero address.
    error ZeroRecipient();

    /// @notice Too little gas is left to give a sender contract's ERC-1271 check its full allowance
    ///         (`ERC1271_GAS_LIMIT`). Raised instead of treating the signature as invalid, so a
    ///         transaction sent with too low a gas limit (or a node's gas estimate that just fits a
    ///         failed check) reverts rather than skipping a voucher that would have paid.
    /// @param gasLeft The gas left before the check.
    /// @param required The gas the check needs to be left.
    error InsufficientGasForSignatureCheck(uint256 gasLeft, uint256 required);

    /// @notice The model id does not fit the 32 bits a channel stores it in. The registry numbers
    ///         models from 1, so this takes more than four billion registrations.
    /// @param modelId The model.
    /// @param maximum The highest model id a channel can be opened for.
    error ModelIdTooLarge(uint256 modelId, uint256 maximum);

    /// @notice The model has no pending royalties to flow up its lineage.
    /// @param modelId The model.
    error NothingToFlow(uint256 modelId);

    /// @notice The dataset has no earnings to withdraw.
    /// @param datasetId The dataset.
    error NoDatasetEarnings(uint256 datasetId);

    /// @notice Only the current owner of the dataset's token may withdraw its earnings (also raised
    ///         for a dataset that does not exist).
    /// @param datasetId The dataset.
    /// @param caller The account that tried.
    error NotDatasetOwner(uint256 datasetId, address caller);

    /// @notice Royalties cannot be credited to a model that does not exist: nobody could withdraw them.
    /// @param modelId The model.
    error UnknownModel(uint256 modelId);

    // ---------------------------------------------------------------- events

    /// @notice A channel was opened (or reopened in a new epoch).
    /// @param channelId The channel.
    /// @param sender The client paying.
    /// @param provider The provider paid.
    /// @param modelId The model served.
    /// @param deposit The amount escrowed (what arrived).
    /// @param royaltyBps The model royalty fixed for this epoch, in basis points.
    /// @param feeBps The protocol fee fixed for this epoch, in basis points.
    /// @param epoch The channel's epoch; vouchers must carry it.
    event ChannelOpened(
        bytes32 indexed channelId,
        address indexed sender,
        address indexed provider,
        uint256 modelId,
        uint256 deposit,
        uint16 royaltyBps,
        uint16 feeBps,
        uint64 epoch
    );

    /// @notice A channel's deposit was topped up.
    /// @param channelId The channel.
    /// @param sender The client.
    /// @param amount The amount added (what arrived).
    /// @param deposit The channel's deposit now.
    event ChannelToppedUp(bytes32 indexed channelId, address indexed sender, uint256 amount, uint256 deposit);

    /// @notice A voucher was redeemed.
    /// @param channelId The channel.
    /// @param provider The provider.
    /// @param modelId The model.
    /// @param cumulativeAmount The voucher's signed cumulative amount (what was paid is capped by
    ///        the deposit; the channel's `redeemed` is the paid cumulative).
    /// @param amount The amount paid by this redemption.
    /// @param providerShare The provider's share of `amount`, credited to the provider.
    /// @param royalty The royalty share of `amount`, credited to the model (`modelEarnings`).
    /// @param fee The protocol fee share of `amount`, credited to the funding pool.
    event VoucherRedeemed(
        bytes32 indexed channelId,
        address indexed provider,
        uint256 indexed modelId,
        uint256 cumulativeAmount,
        uint256 amount,
        uint256 providerShare,
        uint256 royalty,
        uint256 fee
    );

    /// @notice `redeemBatch` skipped a voucher that cannot pay (anything more) instead of reverting,
    ///         so that one counterparty cannot block the provider's other pay.
    /// @param channelId The voucher's channel.
    /// @param provider The caller, who tried to redeem it.
    /// @param epoch The voucher's epoch.
    /// @param cumulativeAmount The voucher's cumulative amount.
    /// @param reason The selector of the custom error `redeem` would have reverted with:
    ///        `ChannelNotOpen`, `NotChannelProvider`, `WrongEpoch`, `ChannelClosed`,
    ///        `VoucherNotIncreasing` or `InvalidVoucherSignature`.
    event VoucherSkipped(
        bytes32 indexed channelId, address indexed provider, uint64 epoch, uint256 cumulativeAmount, bytes4 reason
    );

    /// @notice The sender started closing a channel.
    /// @param channelId The channel.
    /// @param sender The client.
    /// @param closesAt When the challenge period ends.
    event ChannelCloseStarted(bytes32 indexed channelId, address indexed sender, uint64 closesAt);

    /// @notice The sender withdrew what was left in a closed channel; the channel moved to its
    ///         next epoch.
    /// @param channelId The channel.
    /// @param sender The client.
    /// @param refund The amount paid back (deposit minus redeemed).
    /// @param nextEpoch The channel's epoch from now on.
    event ChannelWithdrawn(bytes32 indexed channelId, address indexed sender, uint256 refund, uint64 nextEpoch);

    /// @notice An account withdrew its earnings.
    /// @param account The account whose earnings were paid.
    /// @param to Where they were sent.
    /// @param amount The amount.
    event EarningsWithdrawn(address indexed account, address indexed to, uint256 amount);

    /// @notice The owner of a model's token withdrew the royalties the model had accrued.
    /// @param modelId The model.
    /// @param owner The token's owner, who withdrew.
    /// @param to Where the royalties were sent.
    /// @param amount The amount.
    event ModelEarningsWithdrawn(uint256 indexed modelId, address indexed owner, address indexed to, uint256 amount);

    /// @notice A model's pending royalties flowed up its lineage.
    /// @param modelId The model.
    /// @param amount The pending royalties flowed.
    /// @param kept The part kept for the model's owner (`amount` less every share paid on).
    event RoyaltiesFlowed(uint256 indexed modelId, uint256 amount, uint256 kept);

    /// @notice A parent was paid its share of a derivative's royalties (into its pending royalties).
    /// @param modelId The derivative.
    /// @param parentId The parent.
    /// @param amount The share, rounded down.
    event ParentShareFlowed(uint256 indexed modelId, uint256 indexed parentId, uint256 amount);

    /// @notice A dataset was paid its share of a model's royalties (into `datasetEarnings`).
    /// @param modelId The model.
    /// @param datasetId The dataset.
    /// @param amount The share, rounded down.
    event DatasetShareFlowed(uint256 indexed modelId, uint256 indexed datasetId, uint256 amount);

    /// @notice The owner of a dataset's token withdrew what the dataset had earned.
    /// @param datasetId The dataset.
    /// @param owner The token's owner, who withdrew.
    /// @param to Where the earnings were sent.
    /// @param amount The amount.
    event DatasetEarningsWithdrawn(
        uint256 indexed datasetId, address indexed owner, address indexed to, uint256 amount
    );

    /// @notice Royalties for a model were paid in from outside a channel (X402Splitter's x402
    ///         payments of a model with a lineage), to flow like a redeem's.
    /// @param modelId The model.
    /// @param from Who paid them in.
    /// @param amount The amount that arrived.
    event RoyaltyCredited(uint256 indexed modelId, address indexed from, uint256 amount);

    // ---------------------------------------------------------------- storage

    /// @notice A channel, as returned by `getChannel`.
    /// @param sender The client paying.
    /// @param provider The provider paid.
    /// @param modelId The model served.
    /// @param deposit The amount escrowed in this epoch (0 when not open).
    /// @param redeemed The amount redeemed in this epoch.
    /// @param royaltyBps The model royalty fixed when this epoch opened, in basis points.
    /// @param feeBps The protocol fee fixed when this epoch opened, in basis points.
    /// @param epoch The current epoch.
    /// @param closesAt When the challenge period ends (0 when not closing).
    struct Channel {
        address sender;
        address provider;
        uint256 modelId;
        uint256 deposit;
        uint256 redeemed;
        uint16 royaltyBps;
        uint16 feeBps;
        uint64 epoch;
        uint64 closesAt;
    }

    /// @notice A payment voucher: the sender's promise of `cumulativeAmount` in total on one
    ///         epoch of one channel.
    /// @param channelId The channel.
    /// @param epoch The channel's epoch.
    /// @param cumulativeAmount The total paid on this channel epoch so far, in base units.
    struct Voucher {
        bytes32 channelId;
        uint64 epoch;
        uint256 cumulativeAmount;
    }

    /// @dev A channel as stored: the same fields, packed into four slots (the public struct's order
    ///      would take six), all of which a redemption needs. The model id is stored in 32 bits;
    ///      `open` refuses larger ids.
    struct ChannelSlot {
        address sender; // slot 0
        uint16 royaltyBps;
        uint16 feeBps;
        uint64 epoch;
        address provider; // slot 1
        uint64 closesAt;
        uint32 modelId;
        uint256 deposit; // slot 2
        uint256 redeemed; // slot 3
    }

    /// @notice The EIP-712 type hash of `Voucher`.
    bytes32 public constant VOUCHER_TYPEHASH =
        keccak256("Voucher(bytes32 channelId,uint64 epoch,uint256 cumulativeAmount)");

    /// @notice The EIP-712 type hash of the receipt a provider signs under this contract's domain
    ///         after each request. Nothing here verifies receipts (gateways and validators do, off
    ///         chain); it is published so their format is pinned to the deployment that pays them.
    bytes32 public constant RECEIPT_TYPEHASH = keccak256(
        "Receipt(bytes32 requestId,bytes32 channelId,bytes32 weightsHash,uint64 inputTokens,uint64 outputTokens,uint256 cost,uint256 cumulativeOwed,bytes32 requestHash,bytes32 responseHash)"
    );

    /// @notice Gas given to a sender contract's ERC-1271 `isValidSignature`. A check that needs more
    ///         (or reverts, or returns anything but the magic value) is an invalid signature. The cap
    ///         bounds what a hostile sender can burn of a provider's batch: at most this much per
    ///         voucher, after which the voucher is skipped and the rest of the batch still pays.
    uint256 public constant ERC1271_GAS_LIMIT = 100_000;

    /// @notice The highest protocol fee, in basis points (10%).
    uint16 public constant MAX_FEE_BPS = 1000;

    /// @notice The token channels are paid in.
    IERC20 public immutable token;

    /// @notice The model registry: a channel's royalty is read from it when the channel opens, a
    ///         model's owner when its royalties are withdrawn (never during a redemption).
    ModelRegistry public immutable models;

    /// @notice The provider registry offers are checked against.
    ProviderRegistry public immutable providers;

    /// @notice The account credited with protocol fees (the quadratic-funding matching pool).
    address public immutable fundingPool;

    /// @notice The protocol fee applied to channels opened from now on, in basis points.
    uint16 public immutable protocolFeeBps;

    /// @notice Seconds between `startClose` and the end of the challenge period.
    uint64 public immutable challengePeriod;

    /// @dev Channels by id.
    mapping(bytes32 channelId => ChannelSlot) private _channels;

    /// @dev Earnings (provider shares, protocol fees) not yet withdrawn, by account.
    mapping(address account => uint256) private _earnings;

    /// @dev Royalties credited to a model and not yet flowed up its lineage (redeems credit here,
    ///      and so do derivatives' flows: a parent's share is royalty the parent earned).
    mapping(uint256 modelId => uint256) private _modelEarnings;

    /// @dev Royalties already flowed and kept for the model: its token's current owner's to withdraw.
    mapping(uint256 modelId => uint256) private _keptModelEarnings;

    /// @dev Shares of royalties paid to datasets, not yet withdrawn; withdrawn by the dataset
    ///      token's current owner.
    mapping(uint256 datasetId => uint256) private _datasetEarnings;

    /// @dev Basis points in one whole.
    uint256 private constant BPS = 10_000;

    // ---------------------------------------------------------------- constructor

    /// @notice Deploys the channels contract.
    /// @param token_ The token channels are paid in.
    /// @param models_ The model registry royalties and model owners are read from.
    /// @param providers_ The provider registry offers are checked against.
    /// @param fundingPool_ The account credited with protocol fees; must not be zero.
    /// @param protocolFeeBps_ The protocol fee, in basis points, at most `MAX_FEE_BPS`.
    /// @param challengePeriod_ Seconds a provider has to redeem after a close starts; must not be zero.
    constructor(
        IERC20 token_,
        ModelRegistry models_,
        ProviderRegistry providers_,
        address fundingPool_,
        uint16 protocolFeeBps_,
        uint64 challengePeriod_
    ) EIP712("Gotong PaymentChannels", "1") {
        if (protocolFeeBps_ > MAX_FEE_BPS) revert FeeTooHigh(protocolFeeBps_, MAX_FEE_BPS);
        if (fundingPool_ == address(0)) revert ZeroFundingPool();
        if (challengePeriod_ == 0) revert ZeroChallengePeriod();
        token = token_;
        models = models_;
        providers = providers_;
        fundingPool = fundingPool_;
        protocolFeeBps = protocolFeeBps_;
        challengePeriod = challengePeriod_;
    }

    // ---------------------------------------------------------------- external

    /// @notice Opens a channel from the caller to `provider` for `modelId`, pulling `amount`
    ///         (approve first). Fixes the model's current royalty and the protocol fee for this epoch.
    /// @param provider The provider; must be active and offer `modelId`.
    /// @param modelId The model; at most `type(uint32).max`.
    /// @param salt Any value the caller chooses: one channel per (provider, model, salt) can be
    ///        live at a time, so a new salt opens a second channel beside one that is closing.
    /// @param amount The deposit to pull; what arrives is credited.
    /// @return channelId The channel's id, `channelIdOf(msg.sender, provider, modelId, salt)`.
    function open(address provider, uint256 modelId, uint256 salt, uint256 amount)
        external
        nonReentrant
        returns (bytes32 channelId)
    {
        if (amount == 0) revert ZeroAmount();
        if (!providers.hasOffer(provider, modelId)) revert OfferNotFound(provider, modelId);
        if (modelId > type(uint32).max) revert ModelIdTooLarge(modelId, type(uint32).max);
        channelId = channelIdOf(msg.sender, provider, modelId, salt);
        ChannelSlot storage channel = _channels[channelId];
        if (channel.deposit != 0) revert ChannelAlreadyOpen(channelId);

        uint16 royaltyBps = models.royaltyBpsOf(modelId);
        uint256 received = _pull(amount);

        uint64 epoch = channel.epoch;
        channel.sender = msg.sender;
        channel.royaltyBps = royaltyBps;
        channel.feeBps = protocolFeeBps;
        channel.provider = provider;
        // casting to 'uint32' is safe because `modelId` was checked against `type(uint32).max` above
        // forge-lint: disable-next-line(unsafe-typecast)
        channel.modelId = uint32(modelId);
        channel.deposit = received;
        // `redeemed` and `closesAt` are zero: a new channel, or one reset by `withdraw`.

        emit ChannelOpened(channelId, msg.sender, provider, modelId, received, royaltyBps, protocolFeeBps, epoch);
    }

    /// @notice Adds to an open channel's deposit, pulling `amount` (approve first). Not allowed
    ///         once the channel is closing.
    /// @param channelId The channel; the caller must be its sender.
    /// @param amount The amount to pull; what arrives is credited.
    function topUp(bytes32 channelId, uint256 amount) external nonReentrant {
        ChannelSlot storage channel = _openChannel(channelId);
        if (channel.sender != msg.sender) revert NotChannelSender(channelId, msg.sender);
        if (channel.closesAt != 0) revert ChannelAlreadyClosing(channelId, channel.closesAt);
        if (amount == 0) revert ZeroAmount();
        uint256 received = _pull(amount);
        uint256 deposit = channel.deposit + received;
        channel.deposit = deposit;
        emit ChannelToppedUp(channelId, msg.sender, received, deposit);
    }

    /// @notice Redeems a voucher: pays `min(cumulativeAmount, deposit) - redeemed`, split between
    ///         the provider and the funding pool (fee), credited to `earnings`, and the model
    ///         (royalty), credited to `modelEarnings`. Allowed until the challenge period ends.
    /// @param voucher The voucher; its epoch must be the channel's.
    /// @param signature The sender's signature over `hashVoucher(voucher)` (65-byte ECDSA, or
    ///        whatever the sender's ERC-1271 contract accepts).
    /// @return paid The amount paid by this redemption (above zero).
    function redeem(Voucher calldata voucher, bytes calldata signature) external nonReentrant returns (uint256 paid) {
        paid = _redeem(voucher, signature, true);
    }

    /// @notice Redeems many vouchers in one transaction, with the same checks as `redeem`, except
    ///         that a voucher that cannot pay is skipped, with a `VoucherSkipped` event naming the
    ///         error `redeem` would have raised, instead of reverting the batch: one closed channel,
    ///         revoked agent wallet or bad signature never blocks the provider's other pay. Only a
    ///         length mismatch, too little gas (`InsufficientGasForSignatureCheck`) and reentrancy
    ///         revert. A sender contract's ERC-1271 check gets `ERC1271_GAS_LIMIT` gas; one that
    ///         reverts, burns it all or answers anything but the magic value is skipped as
    ///         `InvalidVoucherSignature`, and cannot touch state (it is a static call).
    /// @param vouchers The vouchers.
    /// @param signatures Their signatures, in the same order.
    /// @return totalPaid The total paid.
    function redeemBatch(Voucher[] calldata vouchers, bytes[] calldata signatures)
        external
        nonReentrant
        returns (uint256 totalPaid)
    {
        if (vouchers.length != signatures.length) {
            revert LengthMismatch(vouchers.length, signatures.length);
        }
        for (uint256 i; i < vouchers.length; ++i) {
            totalPaid += _redeem(vouchers[i], signatures[i], false);
        }
    }

    /// @notice Starts closing a channel: the provider has `challengePeriod` seconds to redeem its
    ///         latest voucher, then the sender can withdraw the rest.
    /// @param channelId The channel; the caller must be its sender.
    function startClose(bytes32 channelId) external nonReentrant {
        ChannelSlot storage channel = _openChannel(channelId);
        if (channel.sender != msg.sender) revert NotChannelSender(channelId, msg.sender);
        if (channel.closesAt != 0) revert ChannelAlreadyClosing(channelId, channel.closesAt);
        uint64 closesAt = uint64(block.timestamp) + challengePeriod;
        channel.closesAt = closesAt;
        emit ChannelCloseStarted(channelId, msg.sender, closesAt);
    }

    /// @notice After the challenge period, pays the sender `deposit - redeemed` and moves the
    ///         channel to its next epoch; it can then be opened again.
    /// @param channelId The channel; the caller must be its sender.
    /// @return refund The amount paid back.
    function withdraw(bytes32 channelId) external nonReentrant returns (uint256 refund) {
        ChannelSlot storage channel = _openChannel(channelId);
        if (channel.sender != msg.sender) revert NotChannelSender(channelId, msg.sender);
        uint64 closesAt = channel.closesAt;
        if (closesAt == 0) revert ChannelNotClosing(channelId);
        if (block.timestamp < closesAt) revert ChallengePeriodActive(closesAt, uint64(block.timestamp));

        refund = channel.deposit - channel.redeemed;
        uint64 nextEpoch = channel.epoch + 1;
        channel.deposit = 0;
        channel.redeemed = 0;
        channel.closesAt = 0;
        channel.epoch = nextEpoch;

        if (refund != 0) token.safeTransfer(msg.sender, refund);
        emit ChannelWithdrawn(channelId, msg.sender, refund, nextEpoch);
    }

    /// @notice Pays the caller's earnings (provider shares, protocol fees) to `to`. Royalties are
    ///         not among them: see `withdrawModelEarnings`.
    /// @param to Where to send them; must not be zero.
    /// @return amount The amount paid.
    function withdrawEarnings(address to) external nonReentrant returns (uint256 amount) {
        if (to == address(0)) revert ZeroRecipient();
        amount = _earnings[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        _earnings[msg.sender] = 0;
        token.safeTransfer(to, amount);
        emit EarningsWithdrawn(msg.sender, to, amount);
    }

    /// @notice Pays the royalties `modelId` has accrued to `to`, after flowing its pending royalties
    ///         up its lineage (its parents' and datasets' shares are paid first; see `flowRoyalties`).
    ///         Only the owner of the model's token at the time of the call may withdraw, whoever
    ///         owned it when the royalties accrued: unwithdrawn royalties travel with the token, so a
    ///         seller should withdraw before transferring it, and a buyer acquires what it has accrued.
    ///         Shares that derivatives owe this model arrive when their royalties flow: call
    ///         `flowRoyalties` on them first to include those.
    /// @param modelId The model; the caller must own its token.
    /// @param to Where to send the royalties; must not be zero.
    /// @return amount The amount paid.
    function withdrawModelEarnings(uint256 modelId, address to) external nonReentrant returns (uint256 amount) {
        if (to == address(0)) revert ZeroRecipient();
        // `exists` first: `ownerOf` reverts, with the registry's error, for a model that does not.
        address owner = models.exists(modelId) ? models.ownerOf(modelId) : address(0);
        if (owner != msg.sender) revert NotModelOwner(modelId, msg.sender);
        if (_modelEarnings[modelId] != 0) _flow(modelId);
        amount = _keptModelEarnings[modelId];
        if (amount == 0) revert NoModelEarnings(modelId);
        _keptModelEarnings[modelId] = 0;
        token.safeTransfer(to, amount);
        emit ModelEarningsWithdrawn(modelId, msg.sender, to, amount);
    }

    /// @notice Pays a model's pending royalties up its lineage: each parent's share (rounded down)
    ///         to the parent's pending royalties, each dataset's share (rounded down) to
    ///         `datasetEarnings`, the remainder kept for the model's owner. Anyone may call it (it
    ///         only moves money along the registered lineage). A parent's share flows on when the
    ///         parent's royalties flow, so calling it from a model up to its base pays the stack.
    /// @param modelId The model.
    /// @return kept What was kept for the model's owner.
    function flowRoyalties(uint256 modelId) external nonReentrant returns (uint256 kept) {
        if (_modelEarnings[modelId] == 0) revert NothingToFlow(modelId);
        kept = _flow(modelId);
    }

    /// @notice Pays the earnings `datasetId` has accrued (its shares of models' royalties) to `to`.
    ///         Only the current owner of the dataset's token may withdraw (a DataPool, for a dataset
    ///         with many contributors); unwithdrawn earnings travel with the token.
    /// @param datasetId The dataset; the caller must own its token.
    /// @param to Where to send the earnings; must not be zero.
    /// @return amount The amount paid.
    function withdrawDatasetEarnings(uint256 datasetId, address to) external nonReentrant returns (uint256 amount) {
        if (to == address(0)) revert ZeroRecipient();
        DatasetRegistry registry = models.datasets();
        address owner = registry.exists(datasetId) ? registry.ownerOf(datasetId) : address(0);
        if (owner != msg.sender) revert NotDatasetOwner(datasetId, msg.sender);
        amount = _datasetEarnings[datasetId];
        if (amount == 0) revert NoDatasetEarnings(datasetId);
        _datasetEarnings[datasetId] = 0;
        token.safeTransfer(to, amount);
        emit DatasetEarningsWithdrawn(datasetId, msg.sender, to, amount);
    }

    /// @notice Credits `amount` (pulled from the caller; approve first) to a model as royalty, to flow
    ///         up its lineage like a redeem's. X402Splitter pays the royalty of an x402 payment for a
    ///         model with a lineage through it; anyone may (it can only pay the model's stack).
    /// @param modelId The model; must exist.
    /// @param amount The amount to pull; what arrives is credited.
    /// @return received What was credited.
    function creditRoyalty(uint256 modelId, uint256 amount) external nonReentrant returns (uint256 received) {
        if (amount == 0) revert ZeroAmount();
        if (!models.exists(modelId)) revert UnknownModel(modelId);
        received = _pull(amount);
        _modelEarnings[modelId] += received;
        emit RoyaltyCredited(modelId, msg.sender, received);
    }

    /// @notice Earnings (provider shares, protocol fees) credited to an account and not yet withdrawn.
    /// @param account The account.
    /// @return The amount, in token base units.
    function earnings(address account) external view returns (uint256) {
        return _earnings[account];
    }

    /// @notice Royalties a model has accrued and not yet withdrawn or paid on: what was kept for it
    ///         plus its pending royalties, of which its parents' and datasets' shares are still to
    ///         be paid (`withdrawableModelEarnings` is what its owner would receive now). The same as
    ///         before lineage for a model without one. Reads no registry, like a redeem.
    /// @param modelId The model.
    /// @return The amount, in token base units.
    function modelEarnings(uint256 modelId) external view returns (uint256) {
        return _keptModelEarnings[modelId] + _modelEarnings[modelId];
    }

    /// @notice What the model token's owner would receive from `withdrawModelEarnings` now: what was
    ///         kept for it, plus its part of the pending royalties once its parents' and datasets'
    ///         shares are paid. It belongs to whoever owns the token when it is withdrawn.
    /// @param modelId The model.
    /// @return amount The amount, in token base units.
    function withdrawableModelEarnings(uint256 modelId) external view returns (uint256 amount) {
        amount = _keptModelEarnings[modelId];
        uint256 pending = _modelEarnings[modelId];
        if (pending == 0) return amount;
        (, uint16[] memory parentShares,, uint16[] memory datasetShares) = models.royaltyStackOf(modelId);
        uint256 paidOn;
        for (uint256 i; i < parentShares.length; ++i) {
            paidOn += Math.mulDiv(pending, parentShares[i], BPS);
        }
        for (uint256 i; i < datasetShares.length; ++i) {
            paidOn += Math.mulDiv(pending, datasetShares[i], BPS);
        }
        amount += pending - paidOn;
    }

    /// @notice Royalties credited to a model and not yet flowed up its lineage (`flowRoyalties`).
    /// @param modelId The model.
    /// @return The amount, in token base units.
    function pendingRoyalties(uint256 modelId) external view returns (uint256) {
        return _modelEarnings[modelId];
    }

    /// @notice Shares of royalties paid to a dataset and not yet withdrawn by its token's owner.
    /// @param datasetId The dataset.
    /// @return The amount, in token base units.
    function datasetEarnings(uint256 datasetId) external view returns (uint256) {
        return _datasetEarnings[datasetId];
    }

    /// @notice A channel's state (all zero when it never existed).
    /// @param channelId The channel.
    /// @return The channel.
    function getChannel(bytes32 channelId) external view returns (Channel memory) {
        ChannelSlot storage c = _channels[channelId];
        return Channel({
            sender: c.sender,
            provider: c.provider,
            modelId: c.modelId,
            deposit: c.deposit,
            redeemed: c.redeemed,
            royaltyBps: c.royaltyBps,
            feeBps: c.feeBps,
            epoch: c.epoch,
            closesAt: c.closesAt
        });
    }

    /// @notice The EIP-712 digest a sender signs for `voucher`.
    /// @param voucher The voucher.
    /// @return The digest.
    function hashVoucher(Voucher calldata voucher) external view returns (bytes32) {
        return _hashVoucher(voucher);
    }

    /// @notice The EIP-712 domain separator (name "Gotong PaymentChannels", version "1", this
    ///         chain, this contract).
    /// @return The separator.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------- public

    /// @notice The id of the channel from `sender` to `provider` for `modelId` under `salt`.
    /// @param sender The client.
    /// @param provider The provider.
    /// @param modelId The model.
    /// @param salt The sender's salt (see `open`).
    /// @return `keccak256(abi.encode(sender, provider, modelId, salt))`.
    function channelIdOf(address sender, address provider, uint256 modelId, uint256 salt)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(sender, provider, modelId, salt));
    }

    // ---------------------------------------------------------------- internal

    /// @dev Checks and pays one voucher. When `strict` is false (batch semantics), a voucher that
    ///      cannot pay returns 0 with a `VoucherSkipped` event instead of reverting. The revert data
    ///      is built only on a refusal, so the paying path costs what it did before batches could
    ///      skip. The channel's four slots are each read once (a redemption needs all of them).
    function _redeem(Voucher calldata voucher, bytes calldata signature, bool strict)
        internal
        returns (uint256 amount)
    {
        bytes32 channelId = voucher.channelId;
        ChannelSlot storage stored = _channels[channelId];
        ChannelSlot memory channel = stored;
        if (channel.deposit == 0) {
            return _refuse(strict, voucher, abi.encodeWithSelector(ChannelNotOpen.selector, channelId));
        }
        if (channel.provider != msg.sender) {
            return _refuse(strict, voucher, abi.encodeWithSelector(NotChannelProvider.selector, channelId, msg.sender));
        }
        if (voucher.epoch != channel.epoch) {
            return _refuse(strict, voucher, abi.encodeWithSelector(WrongEpoch.selector, channel.epoch, voucher.epoch));
        }
        uint64 closesAt = channel.closesAt;
        if (closesAt != 0 && block.timestamp >= closesAt) {
            return _refuse(strict, voucher, abi.encodeWithSelector(ChannelClosed.selector, channelId, closesAt));
        }

        uint256 redeemed = channel.redeemed;
        uint256 cumulativeAmount = voucher.cumulativeAmount;
        uint256 payable_ = Math.min(cumulativeAmount, channel.deposit);
        if (payable_ <= redeemed) {
            return _refuse(
                strict, voucher, abi.encodeWithSelector(VoucherNotIncreasing.selector, redeemed, cumulativeAmount)
            );
        }
        if (!_isValidSignature(channel.sender, _hashVoucher(voucher), signature)) {
            return _refuse(strict, voucher, abi.encodeWithSelector(InvalidVoucherSignature.selector));
        }

        amount = payable_ - redeemed;
        stored.redeemed = payable_;
        _pay(channelId, channel, cumulativeAmount, amount);
    }

    /// @dev Flows `modelId`'s pending royalties one level up its lineage (see `flowRoyalties`).
    ///      Each share is rounded down and the model keeps the remainder, so the parts sum to the
    ///      pending amount exactly; ModelRegistry caps the shares at 90% in total, so the stack can
    ///      never pay out more than the royalty.
    function _flow(uint256 modelId) internal returns (uint256 kept) {
        uint256 pending = _modelEarnings[modelId];
        _modelEarnings[modelId] = 0;
        (uint256[] memory parentIds, uint16[] memory parentShares, uint256[] memory datasetIds, uint16[] memory datasetShares)
        = models.royaltyStackOf(modelId);
        kept = pending;
        for (uint256 i; i < parentIds.length; ++i) {
            uint256 share = Math.mulDiv(pending, parentShares[i], BPS);
            if (share == 0) continue;
            kept -= share;
            _modelEarnings[parentIds[i]] += share;
            emit ParentShareFlowed(modelId, parentIds[i], share);
        }
        for (uint256 i; i < datasetIds.length; ++i) {
            uint256 share = Math.mulDiv(pending, datasetShares[i], BPS);
            if (share == 0) continue;
            kept -= share;
            _datasetEarnings[datasetIds[i]] += share;
            emit DatasetShareFlowed(modelId, datasetIds[i], share);
        }
        _keptModelEarnings[modelId] += kept;
        emit RoyaltiesFlowed(modelId, pending, kept);
    }

    /// @dev A voucher that cannot pay: reverts with `error_` when `strict`, otherwise emits
    ///      `VoucherSkipped` with its selector and returns 0 (nothing paid).
    function _refuse(bool strict, Voucher calldata voucher, bytes memory error_) internal returns (uint256) {
        if (strict) {
            assembly ("memory-safe") {
                revert(add(error_, 0x20), mload(error_))
            }
        }
        emit VoucherSkipped(voucher.channelId, msg.sender, voucher.epoch, voucher.cumulativeAmount, bytes4(error_));
        return 0;
    }

    /// @dev Splits `amount` into royalty, fee and provider share by RevenueSplit (the arithmetic
    ///      X402Splitter splits x402 payments by, so the two cannot drift), credits them (the
    ///      royalty to the model, whoever owns it), and emits `VoucherRedeemed`. The shares sum to
    ///      `amount` exactly: the provider gets the remainder.
    function _pay(bytes32 channelId, ChannelSlot memory channel, uint256 cumulativeAmount, uint256 amount) internal {
        (uint256 royalty, uint256 fee, uint256 providerShare) =
            RevenueSplit.split(amount, channel.royaltyBps, channel.feeBps);
        uint256 modelId = channel.modelId;

        if (royalty != 0) _modelEarnings[modelId] += royalty;
        if (fee != 0) _earnings[fundingPool] += fee;
        _earnings[msg.sender] += providerShare;

        emit VoucherRedeemed(channelId, msg.sender, modelId, cumulativeAmount, amount, providerShare, royalty, fee);
    }

    /// @dev Whether `signature` is `signer`'s over `digest`: an ECDSA signature by the signer's key,
    ///      or, when the signer has code, whatever its ERC-1271 `isValidSignature` accepts. ECDSA is
    ///      tried first even when the signer has code, so an EOA with an EIP-7702 delegation can
    ///      still sign with its key (OpenZeppelin's `SignatureChecker.isValidSignatureNow` would only
    ///      ask the delegate). Zero-address recovery, wrong length, and high-s are refused by `ECDSA`.
    ///
    ///      The ERC-1271 call is a static call with `ERC1271_GAS_LIMIT` gas that copies at most 32
    ///      bytes back: a hostile sender contract can revert, loop or return a huge buffer, and all it
    ///      achieves is an invalid signature at a bounded cost. When less than the full allowance is
    ///      left, the whole transaction reverts (`InsufficientGasForSignatureCheck`): otherwise a low
    ///      gas limit would turn a valid signature into a skipped voucher.
    function _isValidSignature(address signer, bytes32 digest, bytes calldata signature) internal view returns (bool) {
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == signer) return true;
        return signer.code.length != 0 && _isValidERC1271Signature(signer, digest, signature);
    }

    /// @dev `signer.isValidSignature(digest, signature)` returned the ERC-1271 magic value, within
    ///      `ERC1271_GAS_LIMIT` gas. Encodes the call as OpenZeppelin's
    ///      `SignatureChecker.isValidERC1271SignatureNowCalldata` does, with the gas capped.
    function _isValidERC1271Signature(address signer, bytes32 digest, bytes calldata signature)
        internal
        view
        returns (bool result)
    {
        bytes4 selector = IERC1271.isValidSignature.selector;
        uint256 limit = ERC1271_GAS_LIMIT;
        // The call gets at most 63/64 of what is left (EIP-150) after its own cost (at most a cold
        // account access, 2,600), measured once the calldata is in memory.
        uint256 required = limit + limit / 63 + 3_000;
        uint256 gasLeft;
        bool enough;
        assembly ("memory-safe") {
            let length := signature.length
            let ptr := mload(0x40)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), digest)
            mstore(add(ptr, 0x24), 0x40)
            mstore(add(ptr, 0x44), length)
            calldatacopy(add(ptr, 0x64), signature.offset, length)
            mstore(add(add(ptr, 0x64), length), 0)
            let padded := shl(5, shr(5, add(length, 0x1f)))
            gasLeft := gas()
            enough := iszero(lt(gasLeft, required))
            if enough {
                let success := staticcall(limit, signer, ptr, add(padded, 0x64), 0x00, 0x20)
                result := and(success, and(gt(returndatasize(), 0x1f), eq(mload(0x00), selector)))
            }
        }
        if (!enough) revert InsufficientGasForSignatureCheck(gasLeft, required);
    }

    /// @dev The EIP-712 digest of `voucher`.
    function _hashVoucher(Voucher calldata voucher) internal view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(VOUCHER_TYPEHASH, voucher.channelId, voucher.epoch, voucher.cumulativeAmount))
        );
    }

    /// @dev The stored channel, reverting with `ChannelNotOpen` unless it holds a deposit.
    function _openChannel(bytes32 channelId) internal view returns (ChannelSlot storage channel) {
        channel = _channels[channelId];
        if (channel.deposit == 0) revert ChannelNotOpen(channelId);
    }

    /// @dev Pulls `amount` from the caller and returns what actually arrived, so a token that
    ///      takes a fee on transfer is credited only what this contract holds.
    function _pull(uint256 amount) internal returns (uint256 received) {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        received = token.balanceOf(address(this)) - before;
        if (received == 0) revert ZeroAmount();
    }
}
