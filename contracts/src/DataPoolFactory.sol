// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {PaymentChannels} from "./PaymentChannels.sol";
import {DataPool} from "./DataPool.sol";

/// @title DataPoolFactory
/// @notice Creates DataPools for one PaymentChannels deployment and records which pool owns which
///         dataset, so a client can find a dataset's pool (and tell a pool made here from any
///         other contract that happens to own a dataset).
contract DataPoolFactory {
    // ---------------------------------------------------------------- events

    /// @notice A pool was created and its dataset registered.
    /// @param pool The pool.
    /// @param datasetId The dataset it owns.
    /// @param creator Who created it.
    event DataPoolCreated(address indexed pool, uint256 indexed datasetId, address indexed creator);

    // ---------------------------------------------------------------- storage

    /// @notice The channels every pool made here earns in.
    PaymentChannels public immutable channels;

    /// @dev Pools by the dataset they own.
    mapping(uint256 datasetId => address) private _poolOf;

    // ---------------------------------------------------------------- constructor

    /// @notice Deploys a factory for `channels_`.
    /// @param channels_ The PaymentChannels the pools' datasets earn in.
    constructor(PaymentChannels channels_) {
        channels = channels_;
    }

    // ---------------------------------------------------------------- external

    /// @notice Creates a pool that registers `dataset` and mints `shares` to `contributors`.
    /// @param name The share token's name.
    /// @param symbol The share token's symbol.
    /// @param dataset The dataset to register (owned by the pool).
    /// @param contributors Who contributed.
    /// @param shares Their shares, in the same order.
    /// @return pool The new pool.
    function createPool(
        string calldata name,
        string calldata symbol,
        DataPool.DatasetInfo calldata dataset,
        address[] calldata contributors,
        uint256[] calldata shares
    ) external returns (DataPool pool) {
        pool = new DataPool(channels, name, symbol, dataset, contributors, shares);
        uint256 datasetId = pool.datasetId();
        _poolOf[datasetId] = address(pool);
        emit DataPoolCreated(address(pool), datasetId, msg.sender);
    }

    /// @notice The pool made here that owns a dataset.
    /// @param datasetId The dataset.
    /// @return The pool, or zero when the dataset is not a pool's made here.
    function poolOf(uint256 datasetId) external view returns (address) {
        return _poolOf[datasetId];
    }
}
