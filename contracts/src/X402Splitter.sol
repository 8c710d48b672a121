// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC3009} from "@openzeppelin/contracts/interfaces/draft-IERC3009.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ModelRegistry} from "./ModelRegistry.sol";
import {RevenueSplit} from "./libraries/RevenueSplit.sol";
import {X402Payee} from "./x402/X402Payee.sol";

/// @notice The terms of PaymentChannels an x402 payment is split by (its public getters).
interface IPaymentTerms {
    /// @notice The token payments are made in.
    function token() external view returns (address);
    /// @notice The model registry royalties are read from.
    function models() external view returns (address);
    /// @notice The account credited with protocol fees.
    function fundingPool() external view returns (address);
    /// @notice The protocol fee, in basis points.
    function protocolFeeBps() external view returns (uint16);
}

/// @notice Where X402Splitter pays the royalty of a model with a royalty stack (PaymentChannels).
interface IRoyaltyCredit {
    /// @notice Pulls `amount` from the caller and credits it to `modelId` as royalty, to flow up its
    ///         lineage as a redeem's royalty does.
    function creditRoyalty(uint256 modelId, uint256 amount) external returns (uint256 received);
}

/// @title X402Splitter
/// @notice Splits x402 `exact` payments (EIP-3009 `transferWithAuthorization`) for inference
///         exactly as a PaymentChannels redeem does: the model's royalty, the protocol fee into
///         the funding pool, the rest to the provider (RevenueSplit, the same arithmetic).
///
///         Each (provider, model) pair has its own payee (X402Payee, a clone at `payeeOf`), which
///         is the `payTo` of the pair's x402 payment requirements. EIP-3009 moves tokens to the
///         `to` the payer signed, whoever submits the authorization, so binding `to` to the pair
///         is what makes the split hold: a front-runner or a third-party facilitator that submits
///         the authorization straight to the token can only move the money into that payee, and
///         `split` (open to anyone) then splits it the same way.
///
///         `settle` is the provider's path: one transaction deploys the payee if needed, submits
///         the authorization and splits. The royalty and provider share are transferred at once
///         (the royalty to the model token's owner at settlement: the owner PaymentChannels would
///         let withdraw it); the fee is credited to the funding pool here and withdrawn with
///         `withdrawEarnings`, the interface PaymentChannels offers it. Royalty and fee rates are
///         those in force at settlement (ModelRegistry's royalty, PaymentChannels' fee).
///
///         A model registered with a lineage (parents or datasets, ModelRegistry.registerDerivative)
///         owes shares of its royalty up its stack; its royalty is therefore not sent to its owner
///         but credited to it in PaymentChannels (`creditRoyalty`), where it flows exactly as a
///         redeem's royalty does (`flowRoyalties`, `withdrawModelEarnings`). `PaymentSplit`'s
///         `royaltyTo` is then PaymentChannels. A model without a lineage is paid as before.
///
///         `settle` also records what each payer (the authorization's `from`) has paid each provider
///         through it, in total (`paidBy`): AgentReputation counts it as payment to the agent whose
///         wallet is the provider, so a payer's x402 payments weigh its feedback. Money that reaches a
///         payee otherwise (an authorization submitted straight to the token, then `split`) has no
///         known payer here and is not recorded.
/// @dev `exact` pays exactly the authorized amount; x402 has no refund of an unused part. A
///      server that asks for a request's worst case is paid the worst case.
contract X402Splitter is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- types

    /// @notice An EIP-3009 `TransferWithAuthorization`, as x402's `exact` payload carries it
    ///         (`payload.authorization` and `payload.signature`), less `to`, which is the payee.
    /// @param from The payer.
    /// @param value The amount, in base units.
    /// @param validAfter Valid after this time (seconds).
    /// @param validBefore Valid before this time (seconds).
    /// @param nonce The authorization's unique nonce.
    /// @param v The signature's recovery byte.
    /// @param r The signature's r.
    /// @param s The signature's s.
    struct Authorization {
        address from;
        uint256 value;
        uint256 validAfter;
        uint256 validBefore;
        bytes32 nonce;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    // ---------------------------------------------------------------- errors

    /// @notice The provider is the zero address.
    error ZeroProvider();

    /// @notice The payee of the pair holds nothing to split.
    /// @param provider The provider.
    /// @param modelId The model.
    error NothingToSplit(address provider, uint256 modelId);

    /// @notice The recipient of a withdrawal is the zero address.
    error ZeroRecipient();

    /// @notice The caller has no earnings to withdraw.
    /// @param account The caller.
    error NothingToWithdraw(address account);

    // ---------------------------------------------------------------- events

    /// @notice An EIP-3009 authorization paid a pair's payee through `settle`.
    /// @param payer The authorization's `from`.
    /// @param nonce The authorization's nonce.
    /// @param provider The provider paid.
    /// @param modelId The model paid for.
    /// @param value The authorized amount.
    event AuthorizationSettled(
        address indexed payer, bytes32 indexed nonce, address indexed provider, uint256 modelId, uint256 value
    );

    /// @notice A payee's balance was split.
    /// @param provider The provider, paid `providerShare`.
    /// @param modelId The model, whose owner was paid `royalty`.
    /// @param royaltyTo The model token's owner at the split, or PaymentChannels (credited the royalty to
    ///        flow up the stack) for a model with a royalty stack.
    /// @param amount Everything split.
    /// @param providerShare The provider's share.
    /// @param royalty The royalty.
    /// @param fee The protocol fee, credited to the funding pool.
    event PaymentSplit(
        address indexed provider,
        uint256 indexed modelId,
        address indexed royaltyTo,
        uint256 amount,
        uint256 providerShare,
        uint256 royalty,
        uint256 fee
    );

    /// @notice An account withdrew its earnings (the funding pool, its protocol fees).
    /// @param account The account.
    /// @param to Where they were sent.
    /// @param amount The amount.
    event EarningsWithdrawn(address indexed account, address indexed to, uint256 amount);

    // ---------------------------------------------------------------- storage

    /// @notice The token payments are made in (PaymentChannels' token; EIP-3009 for `settle`).
    IERC20 public immutable token;

    /// @notice The model registry royalties and model owners are read from.
    ModelRegistry public immutable models;

    /// @notice The account credited with protocol fees (PaymentChannels' funding pool).
    address public immutable fundingPool;

    /// @notice The protocol fee, in basis points (PaymentChannels' fee).
    uint16 public immutable protocolFeeBps;

    /// @notice The PaymentChannels whose terms apply, credited the royalty of a model with a stack.
    address public immutable channels;

    /// @notice The X402Payee every pair's payee is a clone of.
    address public immutable payeeImplementation;

    /// @dev Protocol fees credited and not yet withdrawn, by account.
    mapping(address account => uint256) private _earnings;

    /// @dev What each payer has paid each provider through `settle`, in total (every model).
    mapping(address payer => mapping(address provider => uint256)) private _paid;

    // ---------------------------------------------------------------- constructor

    /// @notice Deploys the splitter with the terms of `channels`, so an x402 payment and a voucher
    ///         redeem split by the same token, registry, funding pool and fee.
    /// @param channels_ The PaymentChannels whose terms apply.
    constructor(IPaymentTerms channels_) {
        token = IERC20(channels_.token());
        models = ModelRegistry(channels_.models());
        fundingPool = channels_.fundingPool();
        protocolFeeBps = channels_.protocolFeeBps();
        channels = address(channels_);
        payeeImplementation = address(new X402Payee());
    }

    // ---------------------------------------------------------------- external

    /// @notice Submits an EIP-3009 `transferWithAuthorization` whose `to` is the pair's payee, and
    ///         splits it. Anyone may call it (the money can only go along the split); a provider
    ///         calls it to settle an x402 `exact` payment. Adds the authorization's value to what its
    ///         `from` has paid `provider` (`paidBy`).
    /// @param provider The provider paid.
    /// @param modelId The model paid for; must be registered.
    /// @param authorization The payer's signed authorization, `to` being `payeeOf(provider, modelId)`.
    /// @return royalty The royalty paid to the model's owner.
    /// @return fee The protocol fee credited to the funding pool.
    /// @return providerShare The share paid to the provider.
    function settle(address provider, uint256 modelId, Authorization calldata authorization)
        external
        nonReentrant
        returns (uint256 royalty, uint256 fee, uint256 providerShare)
    {
        address payee = _payee(provider, modelId);
        _transferWithAuthorization(payee, authorization);
        // Recorded only once the token has taken the authorization, so it grows only by what the payer
        // signed (whoever submits it). It cannot overflow: it sums tokens that really moved.
        _paid[authorization.from][provider] += authorization.value;
        emit AuthorizationSettled(authorization.from, authorization.nonce, provider, modelId, authorization.value);
        return _split(provider, modelId, payee);
    }

    /// @notice Splits whatever the pair's payee holds: payments submitted to the token directly
    ///         (by another facilitator, or a front-runner of `settle`). Anyone may call it.
    /// @param provider The provider.
    /// @param modelId The model; must be registered.
    /// @return royalty The royalty paid to the model's owner.
    /// @return fee The protocol fee credited to the funding pool.
    /// @return providerShare The share paid to the provider.
    function split(address provider, uint256 modelId)
        external
        nonReentrant
        returns (uint256 royalty, uint256 fee, uint256 providerShare)
    {
        return _split(provider, modelId, _payee(provider, modelId));
    }

    /// @notice Pays the caller's credited earnings (the funding pool's protocol fees) to `to`.
    /// @param to The recipient; must not be zero.
    /// @return amount The amount paid.
    function withdrawEarnings(address to) external nonReentrant returns (uint256 amount) {
        if (to == address(0)) revert ZeroRecipient();
        amount = _earnings[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        _earnings[msg.sender] = 0;
        token.safeTransfer(to, amount);
        emit EarningsWithdrawn(msg.sender, to, amount);
    }

    /// @notice Earnings credited to an account and not yet withdrawn.
    /// @param account The account.
    /// @return The amount, in base units.
    function earnings(address account) external view returns (uint256) {
        return _earnings[account];
    }

    /// @notice What `payer` has paid `provider` through `settle`, in total over every model and
    ///         payment (each authorization's whole value: royalty and fee included). Payments split
    ///         with `split` (submitted to the token by someone else) are not in it: their payer is not
    ///         known here.
    /// @param payer The payer (an authorization's `from`).
    /// @param provider The provider paid.
    /// @return The amount, in base units.
    function paidBy(address payer, address provider) external view returns (uint256) {
        return _paid[payer][provider];
    }

    /// @notice The payee (x402 `payTo`) of a (provider, model) pair, deployed or not.
    /// @param provider The provider.
    /// @param modelId The model.
    /// @return The payee's address.
    function payeeOf(address provider, uint256 modelId) external view returns (address) {
        return Clones.predictDeterministicAddress(payeeImplementation, _salt(provider, modelId));
    }

    // ---------------------------------------------------------------- internal

    /// @dev The pair's payee, deployed first if it is not yet.
    function _payee(address provider, uint256 modelId) internal returns (address payee) {
        if (provider == address(0)) revert ZeroProvider();
        bytes32 salt = _salt(provider, modelId);
        payee = Clones.predictDeterministicAddress(payeeImplementation, salt);
        if (payee.code.length == 0) Clones.cloneDeterministic(payeeImplementation, salt);
    }

    /// @dev Submits the authorization to the token, paying `payee`.
    function _transferWithAuthorization(address payee, Authorization calldata a) internal {
        IERC3009(address(token)).transferWithAuthorization(
            a.from, payee, a.value, a.validAfter, a.validBefore, a.nonce, a.v, a.r, a.s
        );
    }

    /// @dev Splits the payee's whole balance (all of it was paid for this pair) by RevenueSplit. The
    ///      royalty of a model with a royalty stack passes through here into PaymentChannels.
    function _split(address provider, uint256 modelId, address payee)
        internal
        returns (uint256 royalty, uint256 fee, uint256 providerShare)
    {
        uint256 amount = token.balanceOf(payee);
        if (amount == 0) revert NothingToSplit(provider, modelId);
        (uint16 royaltyBps, bool stacked) = models.royaltyTermsOf(modelId);
        (royalty, fee, providerShare) = RevenueSplit.split(amount, royaltyBps, protocolFeeBps);
        address royaltyTo = stacked ? address(this) : models.ownerOf(modelId);
        if (fee != 0) _earnings[fundingPool] += fee;
        X402Payee(payee).payOut(token, royaltyTo, royalty, fee, provider, providerShare);
        if (stacked) {
            royaltyTo = channels;
            if (royalty != 0) {
                token.forceApprove(channels, royalty);
                IRoyaltyCredit(channels).creditRoyalty(modelId, royalty);
            }
        }
        emit PaymentSplit(provider, modelId, royaltyTo, amount, providerShare, royalty, fee);
    }

    /// @dev The clone salt of a pair.
    function _salt(address provider, uint256 modelId) internal pure returns (bytes32) {
        return keccak256(abi.encode(provider, modelId));
    }
}
