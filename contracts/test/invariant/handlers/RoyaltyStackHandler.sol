// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {TestBase} from "../../utils/TestBase.sol";
import {TestToken} from "../../../src/TestToken.sol";
import {ModelRegistry} from "../../../src/ModelRegistry.sol";
import {DatasetRegistry} from "../../../src/DatasetRegistry.sol";
import {ProviderRegistry} from "../../../src/ProviderRegistry.sol";
import {PaymentChannels} from "../../../src/PaymentChannels.sol";
import {DataPool} from "../../../src/DataPool.sol";

/// @notice Drives a fixed royalty stack through random payments, flows, withdrawals and token
///         transfers, and keeps ghost totals. The lineage (built in the constructor):
///         base A and B; C fine-tunes A (30%) trained on dataset D1 (an account's, 10%); E merges
///         C (20%) and B (10%) trained on D2 (a DataPool's, 25%); F quantises E (40%). Every model
///         is paid through its own channel, redeemed in full each time.
contract RoyaltyStackHandler is TestBase {
    uint256 internal constant MAX_PAYMENT = 1e15;

    PaymentChannels public immutable channels;
    TestToken public immutable usd;
    ModelRegistry public immutable models;
    DatasetRegistry public immutable datasets;
    DataPool public pool;
    address public immutable provider;
    address public immutable fundingPool;
    address public immutable sink;

    address internal _sender;
    uint256 internal _senderKey;
    uint256[] internal _modelIds;
    uint256[] internal _datasetIds;
    address[] internal _holders;
    address[] internal _owners;
    mapping(uint256 modelId => bytes32) internal _channelOf;

    uint256 public ghostRedeemed;
    uint256 public ghostRoyalty;
    uint256 public ghostFee;
    uint256 public ghostProviderShare;
    uint256 public ghostModelWithdrawn;
    uint256 public ghostDatasetWithdrawn;
    uint256 public ghostPoolClaimed;

    constructor(PaymentChannels channels_, TestToken usd_, TestToken stakeToken, ProviderRegistry providers) {
        channels = channels_;
        usd = usd_;
        models = channels_.models();
        datasets = models.datasets();
        fundingPool = channels_.fundingPool();
        sink = makeAddr("sink");
        (_sender, _senderKey) = makeAddrAndKey("stackSender");
        provider = makeAddr("stackProvider");
        for (uint256 i; i < 4; ++i) {
            _owners.push(makeAddr(string.concat("owner", vm.toString(i))));
            _holders.push(makeAddr(string.concat("holder", vm.toString(i))));
        }

        vm.prank(_owners[0]);
        uint256 d1 = datasets.registerDataset(keccak256("d1"), "d1", "", bytes32(0));
        address[] memory who = new address[](3);
        uint256[] memory shares = new uint256[](3);
        for (uint256 i; i < 3; ++i) {
            who[i] = _holders[i];
            shares[i] = 7 + i * 13;
        }
        pool = new DataPool(channels_, "pool", "POOL", DataPool.DatasetInfo(keccak256("d2"), "d2", "", bytes32(0)), who, shares);
        _datasetIds.push(d1);
        _datasetIds.push(pool.datasetId());

        uint256 a = _register(0, 1000, new ModelRegistry.Parent[](0), new ModelRegistry.DataShare[](0));
        uint256 b = _register(1, 500, new ModelRegistry.Parent[](0), new ModelRegistry.DataShare[](0));
        uint256 c = _register(2, 2000, _one(a, 1, 3000), _data(d1, 1000));
        ModelRegistry.Parent[] memory merge = new ModelRegistry.Parent[](2);
        merge[0] = ModelRegistry.Parent(c, 2, 2000);
        merge[1] = ModelRegistry.Parent(b, 2, 1000);
        uint256 e = _register(3, 3000, merge, _data(pool.datasetId(), 2500));
        uint256 f = _register(0, 5000, _one(e, 3, 4000), new ModelRegistry.DataShare[](0));

        stakeToken.mint(provider, 1e18);
        vm.startPrank(provider);
        stakeToken.approve(address(providers), 1e18);
        providers.register("https://stack.example", keccak256("hpke"), 1e18);
        for (uint256 i; i < _modelIds.length; ++i) {
            providers.setOffer(_modelIds[i], 1, 1, 1);
        }
        vm.stopPrank();
        assertEq(f, _modelIds[4]);
    }

    function _one(uint256 id, uint8 relation, uint16 share) internal pure returns (ModelRegistry.Parent[] memory p) {
        p = new ModelRegistry.Parent[](1);
        p[0] = ModelRegistry.Parent(id, relation, share);
    }

    function _data(uint256 id, uint16 share) internal pure returns (ModelRegistry.DataShare[] memory d) {
        d = new ModelRegistry.DataShare[](1);
        d[0] = ModelRegistry.DataShare(id, share);
    }

    function _register(
        uint256 owner,
        uint16 royaltyBps,
        ModelRegistry.Parent[] memory parents,
        ModelRegistry.DataShare[] memory shares
    ) internal returns (uint256 id) {
        vm.prank(_owners[owner]);
        id = models.registerDerivative(
            "m", keccak256(abi.encode("w", _modelIds.length)), bytes32(0), "", royaltyBps, parents, shares
        );
        _modelIds.push(id);
    }

    // ---------------------------------------------------------------- actions

    /// @notice Pays `amount` for model `index` through its channel, redeemed in full.
    function pay(uint256 index, uint256 amount) external {
        uint256 modelId = _modelIds[index % _modelIds.length];
        amount = bound(amount, 1, MAX_PAYMENT);
        usd.mint(_sender, amount);
        vm.startPrank(_sender);
        usd.approve(address(channels), amount);
        bytes32 channelId = _channelOf[modelId];
        if (channelId == bytes32(0)) {
            channelId = channels.open(provider, modelId, 0, amount);
            _channelOf[modelId] = channelId;
        } else {
            channels.topUp(channelId, amount);
        }
        vm.stopPrank();
        PaymentChannels.Voucher memory voucher =
            PaymentChannels.Voucher(channelId, 0, channels.getChannel(channelId).deposit);
        bytes memory signature = signDigest(_senderKey, channels.hashVoucher(voucher));
        vm.prank(provider);
        assertEq(channels.redeem(voucher, signature), amount);
        uint256 royalty = amount * models.royaltyBpsOf(modelId) / 10_000;
        uint256 fee = amount * channels.protocolFeeBps() / 10_000;
        ghostRedeemed += amount;
        ghostRoyalty += royalty;
        ghostFee += fee;
        ghostProviderShare += amount - royalty - fee;
    }

    /// @notice Anyone flows model `index`'s pending royalties.
    function flow(uint256 index) external {
        uint256 modelId = _modelIds[index % _modelIds.length];
        if (channels.pendingRoyalties(modelId) == 0) return;
        uint256 expectedKept = channels.withdrawableModelEarnings(modelId) - (channels.modelEarnings(modelId) - channels.pendingRoyalties(modelId));
        assertEq(channels.flowRoyalties(modelId), expectedKept, "flow keeps what the view said");
    }

    /// @notice Model `index`'s current owner withdraws; a former owner is refused.
    function withdrawModel(uint256 index) external {
        uint256 modelId = _modelIds[index % _modelIds.length];
        uint256 expected = channels.withdrawableModelEarnings(modelId);
        if (expected == 0) return;
        vm.prank(models.ownerOf(modelId));
        assertEq(channels.withdrawModelEarnings(modelId, sink), expected, "withdraws what the view said");
        ghostModelWithdrawn += expected;
    }

    /// @notice Transfers model `index` to owner `to`.
    function transferModel(uint256 index, uint256 to) external {
        uint256 modelId = _modelIds[index % _modelIds.length];
        address owner = models.ownerOf(modelId);
        vm.prank(owner);
        models.transferFrom(owner, _owners[to % _owners.length], modelId);
    }

    /// @notice D1's owner withdraws its earnings.
    function withdrawDataset() external {
        uint256 id = _datasetIds[0];
        uint256 amount = channels.datasetEarnings(id);
        if (amount == 0) return;
        address owner = datasets.ownerOf(id);
        vm.prank(owner);
        channels.withdrawDatasetEarnings(id, sink);
        ghostDatasetWithdrawn += amount;
    }

    /// @notice Anyone collects the pool's earnings.
    function collect() external {
        if (channels.datasetEarnings(pool.datasetId()) == 0) return;
        pool.collect();
    }

    /// @notice Holder `index` claims.
    function claim(uint256 index) external {
        address holder = _holders[index % _holders.length];
        uint256 amount = pool.claimable(holder);
        if (amount == 0) return;
        vm.prank(holder);
        pool.claim();
        ghostPoolClaimed += amount;
    }

    /// @notice Holder `from` gives `value` shares to holder `to` (the fourth starts with none).
    function transferShares(uint256 from, uint256 to, uint256 value) external {
        address a = _holders[from % _holders.length];
        address b = _holders[to % _holders.length];
        value = bound(value, 0, pool.balanceOf(a));
        vm.prank(a);
        pool.transfer(b, value);
    }

    // ---------------------------------------------------------------- views

    function modelIds() external view returns (uint256[] memory) {
        return _modelIds;
    }

    function datasetIds() external view returns (uint256[] memory) {
        return _datasetIds;
    }

    function holders() external view returns (address[] memory) {
        return _holders;
    }
}
