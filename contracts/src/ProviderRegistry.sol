// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ModelRegistry} from "./ModelRegistry.sol";

/// @title ProviderRegistry
/// @notice Compute providers register here: a stake, the endpoint clients reach them at, the HPKE
///         key prompts are sealed to, and one offer (prices and capabilities) per model they serve. A provider is
///         active while its stake is at least `minStake`; only active providers' offers can be
///         used to open payment channels. A provider that stops serving pauses itself (one
///         storage write, whatever its number of offers) and unpauses when it serves again;
///         channels cannot be opened to a paused provider, and those open stay redeemable.
/// @dev Stake leaves in two steps (`requestUnstake`, then `withdrawStake` after `unstakeDelay`) so
///      that a provider cannot pull its stake out from under a pending dispute. One contract, the
///      verifier (ServingVerification, wired once by the deployer with `setVerifier`), may slash:
///      `slash` takes from `stake` first and then from `unstaking` (both stay in this contract for
///      exactly that reason, so stake that is unbonding is still slashable), `freeze` blocks
///      `withdrawStake` while a case against the provider is open (a counter, so overlapping cases
///      each hold it), and `suspend` marks a provider caught cheating: `isActive` and `hasOffer`
///      are false from then on, so PaymentChannels opens no new channel to it. Suspension is
///      permanent for the account; its channels already open stay redeemable (the money was owed).
contract ProviderRegistry is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using EnumerableSet for EnumerableSet.UintSet;

    // ---------------------------------------------------------------- errors

    /// @notice The stake is below the minimum.
    /// @param stake The stake offered (or received, for fee-on-transfer tokens).
    /// @param minimum The minimum stake.
    error StakeBelowMinimum(uint256 stake, uint256 minimum);

    /// @notice This account is already registered.
    /// @param provider The account.
    error AlreadyRegistered(address provider);

    /// @notice This account is not registered.
    /// @param provider The account.
    error NotRegistered(address provider);

    /// @notice The endpoint is empty.
    error EmptyEndpoint();

    /// @notice The HPKE public key is zero.
    error EmptyHpkeKey();

    /// @notice An amount of zero was given, or zero tokens arrived.
    error ZeroAmount();

    /// @notice No model has this id.
    /// @param modelId The id asked for.
    error ModelNotFound(uint256 modelId);

    /// @notice The provider has no offer for this model.
    /// @param provider The provider.
    /// @param modelId The model.
    error OfferNotFound(address provider, uint256 modelId);

    /// @notice An offer declared no capability: it could serve no request.
    /// @param modelId The model of the offer.
    error NoCapabilities(uint256 modelId);

    /// @notice More stake was asked for than is staked.
    /// @param stake The stake.
    /// @param requested The amount asked for.
    error InsufficientStake(uint256 stake, uint256 requested);

    /// @notice The unstaking delay has not passed yet.
    /// @param readyAt When the stake can be withdrawn.
    /// @param now The current block timestamp.
    error UnstakeNotReady(uint64 readyAt, uint64 now);

    /// @notice There is nothing to withdraw.
    /// @param provider The account.
    error NothingToWithdraw(address provider);

    /// @notice Only the verifier may slash, freeze, unfreeze or suspend.
    /// @param caller The account that tried.
    error NotVerifier(address caller);

    /// @notice Only the account that deployed this registry may wire the verifier.
    /// @param caller The account that tried.
    error NotDeployer(address caller);

    /// @notice The verifier is already wired (it is set once, so nobody can swap in a slasher later).
    /// @param verifier The verifier already wired.
    error VerifierAlreadySet(address verifier);

    /// @notice The verifier given is the zero address.
    error ZeroVerifier();

    /// @notice A case against the provider is open: its stake cannot leave until the verdict.
    /// @param provider The provider.
    /// @param openCases How many cases are open against it.
    error StakeFrozen(address provider, uint32 openCases);

    /// @notice `unfreeze` was called for a provider with no open case.
    /// @param provider The provider.
    error NotFrozen(address provider);

    // ---------------------------------------------------------------- events

    /// @notice A provider registered.
    /// @param provider The provider.
    /// @param endpoint The URL clients reach it at.
    /// @param hpkePublicKey Its X25519 HPKE public key.
    /// @param stake The stake received.
    event ProviderRegistered(address indexed provider, string endpoint, bytes32 hpkePublicKey, uint256 stake);

    /// @notice A provider added stake.
    /// @param provider The provider.
    /// @param amount The amount received.
    /// @param stake The provider's stake now.
    event StakeAdded(address indexed provider, uint256 amount, uint256 stake);

    /// @notice A provider changed its endpoint.
    /// @param provider The provider.
    /// @param endpoint The new endpoint.
    event EndpointChanged(address indexed provider, string endpoint);

    /// @notice A provider changed its HPKE public key.
    /// @param provider The provider.
    /// @param hpkePublicKey The new key.
    event HpkeKeyChanged(address indexed provider, bytes32 hpkePublicKey);

    /// @notice A provider set (added, repriced or changed the capabilities of) its offer for a model.
    /// @param provider The provider.
    /// @param modelId The model.
    /// @param pricePerMillionInput Price per 1,000,000 input tokens, in payment-token base units.
    /// @param pricePerMillionOutput Price per 1,000,000 output tokens, in payment-token base units.
    /// @param capabilities Bitmask of what the offer serves (see `Offer.capabilities`).
    event OfferSet(
        address indexed provider,
        uint256 indexed modelId,
        uint256 pricePerMillionInput,
        uint256 pricePerMillionOutput,
        uint256 capabilities
    );

    /// @notice A provider removed its offer for a model.
    /// @param provider The provider.
    /// @param modelId The model.
    event OfferRemoved(address indexed provider, uint256 indexed modelId);

    /// @notice A provider paused or resumed all its offers.
    /// @param provider The provider.
    /// @param paused Whether its offers are paused now.
    event ProviderPaused(address indexed provider, bool paused);

    /// @notice A provider asked to unstake.
    /// @param provider The provider.
    /// @param amount The amount moved from stake to unstaking.
    /// @param unstaking The provider's total unstaking amount now.
    /// @param readyAt When the unstaking amount can be withdrawn.
    event UnstakeRequested(address indexed provider, uint256 amount, uint256 unstaking, uint64 readyAt);

    /// @notice A provider withdrew its unstaked tokens.
    /// @param provider The provider.
    /// @param amount The amount paid out.
    event StakeWithdrawn(address indexed provider, uint256 amount);

    /// @notice The verifier was wired.
    /// @param verifier The contract allowed to slash, freeze and suspend.
    event VerifierSet(address indexed verifier);

    /// @notice A provider's stake was slashed and sent to the verifier.
    /// @param provider The provider.
    /// @param fromStake The part taken from its active stake.
    /// @param fromUnstaking The part taken from what was unstaking.
    event ProviderSlashed(address indexed provider, uint256 fromStake, uint256 fromUnstaking);

    /// @notice A case against a provider opened (`frozen` true) or closed (false).
    /// @param provider The provider.
    /// @param frozen Whether the case opened.
    /// @param openCases How many cases are open against it now.
    event ProviderFrozen(address indexed provider, bool frozen, uint32 openCases);

    /// @notice A provider was suspended for fraud: its offers are inactive for good.
    /// @param provider The provider.
    event ProviderSuspended(address indexed provider);

    // ---------------------------------------------------------------- storage

    /// @notice A provider's registration.
    /// @param registered Whether the account ever registered.
    /// @param paused Whether the provider paused its offers (it is not serving them now).
    /// @param suspended Whether the verifier suspended the provider for fraud (for good).
    /// @param openCases How many verification cases against the provider are open; while any is,
    ///        `withdrawStake` refuses.
    /// @param stake The active stake.
    /// @param unstaking Stake on its way out, withdrawable at `unstakeReadyAt`.
    /// @param unstakeReadyAt When `unstaking` can be withdrawn (0 when nothing is unstaking).
    /// @param hpkePublicKey The X25519 HPKE public key prompts are sealed to.
    /// @param endpoint The URL clients reach the provider at.
    /// @param slashed Everything slashed from the provider so far.
    struct Provider {
        bool registered;
        bool paused;
        bool suspended;
        uint32 openCases;
        uint256 stake;
        uint256 unstaking;
        uint64 unstakeReadyAt;
        bytes32 hpkePublicKey;
        string endpoint;
        uint256 slashed;
    }

    /// @notice A provider's prices and capabilities for one model.
    /// @param modelId The model.
    /// @param pricePerMillionInput Price per 1,000,000 input tokens, in payment-token base units.
    /// @param pricePerMillionOutput Price per 1,000,000 output tokens, in payment-token base units.
    /// @param capabilities Bitmask of the kinds of request the offer serves: bit 0 chat (and text
    ///        completions), bit 1 embeddings, bit 2 tools (function calling), bit 3 structured
    ///        outputs (JSON object / JSON schema). Never zero. Bits are permanent and new kinds take
    ///        the next free bit; clients ignore bits they do not know. The contract stores the mask
    ///        as given and does not interpret it.
    struct Offer {
        uint256 modelId;
        uint256 pricePerMillionInput;
        uint256 pricePerMillionOutput;
        uint256 capabilities;
    }

    /// @dev Prices and capabilities stored per (provider, model); the model id is the mapping key.
    struct Terms {
        uint256 pricePerMillionInput;
        uint256 pricePerMillionOutput;
        uint256 capabilities;
    }

    /// @notice The token staked.
    IERC20 public immutable stakeToken;

    /// @notice The model registry offers refer to.
    ModelRegistry public immutable models;

    /// @notice The stake a provider needs to be active.
    uint256 public immutable minStake;

    /// @notice Seconds between `requestUnstake` and `withdrawStake`.
    uint64 public immutable unstakeDelay;

    /// @notice The account that deployed the registry: the only one that may wire the verifier.
    address public immutable deployer;

    /// @notice The contract allowed to slash, freeze and suspend providers (zero until wired).
    address public verifier;

    /// @notice Everything slashed from all providers so far.
    uint256 public totalSlashed;

    /// @dev Registrations by account.
    mapping(address provider => Provider) private _providers;

    /// @dev Every account that registered, in registration order.
    address[] private _providerList;

    /// @dev The model ids each provider has an offer for.
    mapping(address provider => EnumerableSet.UintSet) private _offerModels;

    /// @dev Prices and capabilities by provider and model.
    mapping(address provider => mapping(uint256 modelId => Terms)) private _terms;

    // ---------------------------------------------------------------- constructor

    /// @notice Deploys the registry.
    /// @param stakeToken_ The token staked.
    /// @param models_ The model registry offers refer to.
    /// @param minStake_ The stake a provider needs to be active.
    /// @param unstakeDelay_ Seconds between `requestUnstake` and `withdrawStake`.
    constructor(IERC20 stakeToken_, ModelRegistry models_, uint256 minStake_, uint64 unstakeDelay_) {
        stakeToken = stakeToken_;
        models = models_;
        minStake = minStake_;
        unstakeDelay = unstakeDelay_;
        deployer = msg.sender;
    }

    // ---------------------------------------------------------------- external

    /// @notice Registers the caller as a provider, pulling its stake (approve first).
    /// @param endpoint The URL clients reach the provider at; must not be empty.
    /// @param hpkePublicKey The X25519 HPKE public key prompts are sealed to; must not be zero.
    /// @param stakeAmount The stake to pull; what arrives must be at least `minStake`.
    function register(string calldata endpoint, bytes32 hpkePublicKey, uint256 stakeAmount) external nonReentrant {
        Provider storage provider = _providers[msg.sender];
        if (provider.registered) revert AlreadyRegistered(msg.sender);
        if (bytes(endpoint).length == 0) revert EmptyEndpoint();
        if (hpkePublicKey == bytes32(0)) revert EmptyHpkeKey();
        if (stakeAmount < minStake) revert StakeBelowMinimum(stakeAmount, minStake);

        uint256 received = _pullStake(stakeAmount);
        if (received < minStake) revert StakeBelowMinimum(received, minStake);

        provider.registered = true;
        provider.stake = received;
        provider.hpkePublicKey = hpkePublicKey;
        provider.endpoint = endpoint;
        _providerList.push(msg.sender);

        emit ProviderRegistered(msg.sender, endpoint, hpkePublicKey, received);
    }

    /// @notice Adds to the caller's stake, pulling the tokens (approve first).
    /// @param amount The amount to pull; the amount that arrives is credited.
    function addStake(uint256 amount) external nonReentrant {
        Provider storage provider = _registered(msg.sender);
        if (amount == 0) revert ZeroAmount();
        uint256 received = _pullStake(amount);
        provider.stake += received;
        emit StakeAdded(msg.sender, received, provider.stake);
    }

    /// @notice Changes the caller's endpoint.
    /// @param endpoint The new endpoint; must not be empty.
    function setEndpoint(string calldata endpoint) external {
        Provider storage provider = _registered(msg.sender);
        if (bytes(endpoint).length == 0) revert EmptyEndpoint();
        provider.endpoint = endpoint;
        emit EndpointChanged(msg.sender, endpoint);
    }

    /// @notice Changes the caller's HPKE public key.
    /// @param hpkePublicKey The new key; must not be zero.
    function setHpkeKey(bytes32 hpkePublicKey) external {
        Provider storage provider = _registered(msg.sender);
        if (hpkePublicKey == bytes32(0)) revert EmptyHpkeKey();
        provider.hpkePublicKey = hpkePublicKey;
        emit HpkeKeyChanged(msg.sender, hpkePublicKey);
    }

    /// @notice Adds the caller's offer for a model, or replaces its prices and capabilities.
    ///         Channels already open are not affected: they are paid by voucher, and the client
    ///         checks prices off-chain.
    /// @param modelId The model; must exist.
    /// @param pricePerMillionInput Price per 1,000,000 input tokens, in payment-token base units.
    /// @param pricePerMillionOutput Price per 1,000,000 output tokens, in payment-token base units.
    /// @param capabilities Bitmask of what the offer serves (see `Offer.capabilities`); must not be zero.
    function setOffer(uint256 modelId, uint256 pricePerMillionInput, uint256 pricePerMillionOutput, uint256 capabilities)
        external
    {
        _registered(msg.sender);
        if (!models.exists(modelId)) revert ModelNotFound(modelId);
        if (capabilities == 0) revert NoCapabilities(modelId);
        _offerModels[msg.sender].add(modelId);
        _terms[msg.sender][modelId] = Terms(pricePerMillionInput, pricePerMillionOutput, capabilities);
        emit OfferSet(msg.sender, modelId, pricePerMillionInput, pricePerMillionOutput, capabilities);
    }

    /// @notice Removes the caller's offer for a model. Channels already open stay redeemable.
    /// @param modelId The model.
    function removeOffer(uint256 modelId) external {
        _registered(msg.sender);
        if (!_offerModels[msg.sender].remove(modelId)) revert OfferNotFound(msg.sender, modelId);
        delete _terms[msg.sender][modelId];
        emit OfferRemoved(msg.sender, modelId);
    }

    /// @notice Pauses or resumes all the caller's offers: a provider that stops serving says so
    ///         without removing its offers (and paying to set them again when it is back).
    ///         Setting the state it already has changes nothing and emits nothing.
    /// @param paused Whether the offers are paused.
    function setPaused(bool paused) external {
        Provider storage provider = _registered(msg.sender);
        if (provider.paused == paused) return;
        provider.paused = paused;
        emit ProviderPaused(msg.sender, paused);
    }

    /// @notice Moves `amount` of the caller's stake to unstaking. It can be withdrawn
    ///         `unstakeDelay` seconds from now; a new request adds to what is unstaking and
    ///         restarts the delay for all of it.
    /// @param amount The amount to unstake; at most the stake.
    function requestUnstake(uint256 amount) external {
        Provider storage provider = _registered(msg.sender);
        if (amount == 0) revert ZeroAmount();
        if (amount > provider.stake) revert InsufficientStake(provider.stake, amount);
        provider.stake -= amount;
        provider.unstaking += amount;
        uint64 readyAt = uint64(block.timestamp) + unstakeDelay;
        provider.unstakeReadyAt = readyAt;
        emit UnstakeRequested(msg.sender, amount, provider.unstaking, readyAt);
    }

    /// @notice Pays the caller its unstaked tokens once the delay has passed and no verification
    ///         case against it is open (the case may slash them).
    function withdrawStake() external nonReentrant {
        Provider storage provider = _registered(msg.sender);
        uint256 amount = provider.unstaking;
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        if (provider.openCases != 0) revert StakeFrozen(msg.sender, provider.openCases);
        if (block.timestamp < provider.unstakeReadyAt) {
            revert UnstakeNotReady(provider.unstakeReadyAt, uint64(block.timestamp));
        }
        provider.unstaking = 0;
        provider.unstakeReadyAt = 0;
        stakeToken.safeTransfer(msg.sender, amount);
        emit StakeWithdrawn(msg.sender, amount);
    }

    /// @notice Wires the verifier, once: the deployer deploys ServingVerification with this
    ///         registry's address, then points the registry back at it (like
    ///         QuadraticFunding.setPaymentChannels). Once set it cannot change, so no key can later
    ///         install a contract that slashes at will.
    /// @param verifier_ The verifier; must not be zero.
    function setVerifier(address verifier_) external {
        if (msg.sender != deployer) revert NotDeployer(msg.sender);
        if (verifier != address(0)) revert VerifierAlreadySet(verifier);
        if (verifier_ == address(0)) revert ZeroVerifier();
        verifier = verifier_;
        emit VerifierSet(verifier_);
    }

    /// @notice Takes up to `amount` of a provider's stake, from `stake` first and then from
    ///         `unstaking` (unbonding stake answers for what was served while it was bonded), and
    ///         sends it to the verifier, which splits it. Takes what there is when there is less.
    /// @param provider The provider; must be registered.
    /// @param amount The amount to take.
    /// @return taken The amount taken and sent to the verifier.
    function slash(address provider, uint256 amount) external nonReentrant returns (uint256 taken) {
        _onlyVerifier();
        Provider storage p = _registered(provider);
        uint256 fromStake = amount < p.stake ? amount : p.stake;
        uint256 rest = amount - fromStake;
        uint256 fromUnstaking = rest < p.unstaking ? rest : p.unstaking;
        taken = fromStake + fromUnstaking;
        if (taken == 0) return 0;
        p.stake -= fromStake;
        p.unstaking -= fromUnstaking;
        if (p.unstaking == 0) p.unstakeReadyAt = 0;
        p.slashed += taken;
        totalSlashed += taken;
        stakeToken.safeTransfer(msg.sender, taken);
        emit ProviderSlashed(provider, fromStake, fromUnstaking);
    }

    /// @notice Opens a case against a provider: `withdrawStake` refuses until every open case closed.
    /// @param provider The provider; must be registered.
    function freeze(address provider) external {
        _onlyVerifier();
        Provider storage p = _registered(provider);
        uint32 openCases = p.openCases + 1;
        p.openCases = openCases;
        emit ProviderFrozen(provider, true, openCases);
    }

    /// @notice Closes a case against a provider.
    /// @param provider The provider; must have an open case.
    function unfreeze(address provider) external {
        _onlyVerifier();
        Provider storage p = _registered(provider);
        if (p.openCases == 0) revert NotFrozen(provider);
        uint32 openCases = p.openCases - 1;
        p.openCases = openCases;
        emit ProviderFrozen(provider, false, openCases);
    }

    /// @notice Suspends a provider found cheating by a quorum: it is not active from now on, so no
    ///         channel opens to it. Suspending a suspended provider changes nothing.
    /// @param provider The provider; must be registered.
    function suspend(address provider) external {
        _onlyVerifier();
        Provider storage p = _registered(provider);
        if (p.suspended) return;
        p.suspended = true;
        emit ProviderSuspended(provider);
    }

    /// @notice Whether an account ever registered as a provider (suspended or not).
    /// @param provider The account.
    /// @return True when registered.
    function isRegistered(address provider) external view returns (bool) {
        return _providers[provider].registered;
    }

    /// @notice What a slash could take from a provider now: its stake plus what is unstaking.
    /// @param provider The account.
    /// @return The slashable amount.
    function slashableStake(address provider) external view returns (uint256) {
        Provider storage p = _providers[provider];
        return p.stake + p.unstaking;
    }

    /// @notice A provider's registration (all zero when the account never registered).
    /// @param provider The account.
    /// @return The registration.
    function getProvider(address provider) external view returns (Provider memory) {
        return _providers[provider];
    }

    /// @notice Every account that ever registered, in registration order, active or not.
    /// @return The accounts.
    function getProviders() external view returns (address[] memory) {
        return _providerList;
    }

    /// @notice A provider's offers.
    /// @param provider The provider.
    /// @return offers Its offers, in no particular order.
    function getOffers(address provider) external view returns (Offer[] memory offers) {
        EnumerableSet.UintSet storage modelIds = _offerModels[provider];
        uint256 count = modelIds.length();
        offers = new Offer[](count);
        for (uint256 i; i < count; ++i) {
            offers[i] = _offer(provider, modelIds.at(i));
        }
    }

    /// @notice A provider's offer for a model.
    /// @param provider The provider.
    /// @param modelId The model.
    /// @return The offer.
    function getOffer(address provider, uint256 modelId) external view returns (Offer memory) {
        if (!_offerModels[provider].contains(modelId)) revert OfferNotFound(provider, modelId);
        return _offer(provider, modelId);
    }

    /// @notice Whether a provider is active, serving and offers a model: what opening a channel requires.
    /// @param provider The provider.
    /// @param modelId The model.
    /// @return True when the provider is registered, staked at least `minStake`, not suspended, not paused, and has the offer.
    function hasOffer(address provider, uint256 modelId) external view returns (bool) {
        return _isActive(provider) && !_providers[provider].paused && _offerModels[provider].contains(modelId);
    }

    /// @notice Whether a provider is registered, staked at least `minStake` and not suspended.
    /// @param provider The provider.
    /// @return True when active.
    function isActive(address provider) external view returns (bool) {
        return _isActive(provider);
    }

    // ---------------------------------------------------------------- internal

    /// @dev Whether `provider` is registered, staked at least `minStake` and not suspended for fraud.
    function _isActive(address provider) internal view returns (bool) {
        Provider storage p = _providers[provider];
        return p.registered && !p.suspended && p.stake >= minStake;
    }

    /// @dev Reverts with `NotVerifier` unless the caller is the wired verifier.
    function _onlyVerifier() internal view {
        if (msg.sender != verifier || msg.sender == address(0)) revert NotVerifier(msg.sender);
    }

    /// @dev The offer of `provider` for `modelId`, read from storage.
    function _offer(address provider, uint256 modelId) internal view returns (Offer memory) {
        Terms storage terms = _terms[provider][modelId];
        return Offer(modelId, terms.pricePerMillionInput, terms.pricePerMillionOutput, terms.capabilities);
    }

    /// @dev The registration of `account`, reverting with `NotRegistered` when there is none.
    function _registered(address account) internal view returns (Provider storage provider) {
        provider = _providers[account];
        if (!provider.registered) revert NotRegistered(account);
    }

    /// @dev Pulls `amount` of stake token from the caller and returns what actually arrived, so a
    ///      token that takes a fee on transfer is credited only what this contract holds.
    function _pullStake(uint256 amount) internal returns (uint256 received) {
        uint256 before = stakeToken.balanceOf(address(this));
        stakeToken.safeTransferFrom(msg.sender, address(this), amount);
        received = stakeToken.balanceOf(address(this)) - before;
        if (received == 0) revert ZeroAmount();
    }
}
