// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Test} from "./Test.sol";
import {TestToken} from "../../src/TestToken.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {PaymentChannels} from "../../src/PaymentChannels.sol";

/// @notice Deploys the whole Gotong stack and offers the steps most tests share: register a model,
///         register a provider with an offer, open a channel, sign a voucher.
abstract contract Fixture is Test {
    uint256 internal constant MIN_STAKE = 100e6;
    uint64 internal constant UNSTAKE_DELAY = 7 days;
    uint16 internal constant FEE_BPS = 250;
    uint16 internal constant ROYALTY_BPS = 1000;
    uint64 internal constant CHALLENGE_PERIOD = 1 hours;
    uint256 internal constant START_TIME = 1_700_000_000;

    TestToken internal stakeToken;
    TestToken internal usd;
    ModelRegistry internal models;
    ProviderRegistry internal providers;
    PaymentChannels internal channels;

    address internal creator;
    address internal provider;
    uint256 internal providerKey;
    address internal sender;
    uint256 internal senderKey;
    address internal fundingPool;
    address internal stranger;

    uint256 internal modelId;
    uint256 private _weightsNonce;

    function setUp() public virtual {
        vm.warp(START_TIME);
        (creator,) = makeAddrAndKey("creator");
        (provider, providerKey) = makeAddrAndKey("provider");
        (sender, senderKey) = makeAddrAndKey("sender");
        stranger = makeAddr("stranger");

        stakeToken = new TestToken("Gotong Stake", "tSTAKE", 18);
        usd = new TestToken("Gotong Test USD", "tUSD", 6);
        vm.label(address(stakeToken), "stakeToken");
        vm.label(address(usd), "usd");
        models = new ModelRegistry();
        providers = new ProviderRegistry(IERC20(address(stakeToken)), models, MIN_STAKE, UNSTAKE_DELAY);
        fundingPool = _deployFundingPool();
        channels = new PaymentChannels(usd, models, providers, fundingPool, FEE_BPS, CHALLENGE_PERIOD);
        vm.label(address(models), "models");
        vm.label(address(providers), "providers");
        vm.label(address(channels), "channels");

        modelId = _registerModel(creator, ROYALTY_BPS);
        _registerProvider(provider, modelId);
    }

    /// @dev Where the channels pay protocol fees, set up once the registries exist: a plain account
    ///      here; a fixture that needs a real funding contract deploys it instead.
    function _deployFundingPool() internal virtual returns (address) {
        return makeAddr("fundingPool");
    }

    /// @dev Registers a model with fresh weights, minted to `owner`.
    function _registerModel(address owner, uint16 royaltyBps) internal returns (uint256 id) {
        bytes32 weightsHash = keccak256(abi.encode("weights", ++_weightsNonce));
        vm.prank(owner);
        id = models.register("llama-3-8b", weightsHash, keccak256("manifest"), "ipfs://manifest", royaltyBps);
    }

    /// @dev Registers `account` as a provider with the minimum stake and an offer for `offeredModel`.
    function _registerProvider(address account, uint256 offeredModel) internal {
        stakeToken.mint(account, MIN_STAKE);
        vm.startPrank(account);
        stakeToken.approve(address(providers), MIN_STAKE);
        providers.register("https://provider.example", keccak256(abi.encode("hpke", account)), MIN_STAKE);
        providers.setOffer(offeredModel, 1e6, 2e6, 1);
        vm.stopPrank();
    }

    /// @dev Mints `amount` of usd to `from` and opens a channel to `to` for `model`.
    function _open(address from, address to, uint256 model, uint256 amount) internal returns (bytes32 channelId) {
        usd.mint(from, amount);
        vm.startPrank(from);
        usd.approve(address(channels), amount);
        channelId = channels.open(to, model, 0, amount);
        vm.stopPrank();
    }

    /// @dev Opens the default channel: `sender` to `provider` for `modelId`.
    function _open(uint256 amount) internal returns (bytes32 channelId) {
        return _open(sender, provider, modelId, amount);
    }

    /// @dev Builds a voucher.
    function _voucher(bytes32 channelId, uint64 epoch, uint256 cumulativeAmount)
        internal
        pure
        returns (PaymentChannels.Voucher memory)
    {
        return PaymentChannels.Voucher({channelId: channelId, epoch: epoch, cumulativeAmount: cumulativeAmount});
    }

    /// @dev Signs `voucher` for `channels` with `key`.
    function _sign(uint256 key, PaymentChannels.Voucher memory voucher) internal view returns (bytes memory) {
        return signDigest(key, channels.hashVoucher(voucher));
    }

    /// @dev The EIP-712 digest of a voucher, computed independently of the contract.
    function _digest(address verifyingContract, uint256 chainId, PaymentChannels.Voucher memory voucher)
        internal
        pure
        returns (bytes32)
    {
        bytes32 domainSeparator = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Gotong PaymentChannels"),
                keccak256("1"),
                chainId,
                verifyingContract
            )
        );
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Voucher(bytes32 channelId,uint64 epoch,uint256 cumulativeAmount)"),
                voucher.channelId,
                voucher.epoch,
                voucher.cumulativeAmount
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash));
    }

    /// @dev The protocol fee on `amount` paid through `channels`.
    function _fee(uint256 amount) internal pure returns (uint256) {
        return amount * FEE_BPS / 10_000;
    }

    /// @dev Registers a model (owned by `owner`) that `provider` offers, so channels can be opened for it.
    function _registerOfferedModel(address owner, uint16 royaltyBps) internal returns (uint256 id) {
        id = _registerModel(owner, royaltyBps);
        vm.prank(provider);
        providers.setOffer(id, 1, 1, 1);
    }

    /// @dev Expects `provider` redeeming `voucher` with `signature` to revert with exactly `revertData`.
    function _expectRedeemRevert(PaymentChannels.Voucher memory voucher, bytes memory signature, bytes memory revertData)
        internal
    {
        vm.expectRevert(revertData);
        vm.prank(provider);
        channels.redeem(voucher, signature);
    }

    /// @dev Expects `provider` redeeming `voucher` with `signature` to revert with the argument-less `error_`.
    function _expectRedeemRevert(PaymentChannels.Voucher memory voucher, bytes memory signature, bytes4 error_)
        internal
    {
        vm.expectRevert(error_);
        vm.prank(provider);
        channels.redeem(voucher, signature);
    }

    /// @dev Redeems `cumulativeAmount` on `channelId` (epoch `epoch`) as `provider`, signed by `senderKey`.
    function _redeem(bytes32 channelId, uint64 epoch, uint256 cumulativeAmount) internal returns (uint256 paid) {
        PaymentChannels.Voucher memory voucher = _voucher(channelId, epoch, cumulativeAmount);
        bytes memory signature = _sign(senderKey, voucher);
        vm.prank(provider);
        paid = channels.redeem(voucher, signature);
    }
}
