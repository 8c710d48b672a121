// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @title DatasetRegistry
/// @notice The registry of datasets models are trained on. Each dataset is an ERC-721 token, ids
///         counting from 1, minted to whoever registered it; whoever owns the token owns the
///         dataset's earnings: the share of royalties that models trained on it pay it
///         (PaymentChannels credits them to the dataset id, so unwithdrawn earnings go with the
///         token). A dataset with many contributors is owned by a DataPool, which splits what it
///         earns by contribution.
/// @dev The contents stay off-chain (and may stay encrypted): a dataset is the hash of its files
///      plus a signed manifest (licence, owners and their shares) at `manifestURI` whose hash is
///      `manifestHash`. A content hash can be registered once. Tokens cannot be burned, so an id in
///      `[1, datasetCount()]` always exists. ModelRegistry deploys this registry in its own
///      constructor (`ModelRegistry.datasets()`), so a deployment has exactly one.
contract DatasetRegistry is ERC721 {
    // ---------------------------------------------------------------- errors

    /// @notice The content hash is zero.
    error EmptyContentHash();

    /// @notice The dataset name is empty.
    error EmptyDatasetName();

    /// @notice This content is already registered.
    /// @param contentHash The content hash.
    /// @param datasetId The id it is registered under.
    error DatasetAlreadyRegistered(bytes32 contentHash, uint256 datasetId);

    /// @notice No dataset has this id.
    /// @param datasetId The id asked for.
    error DatasetNotFound(uint256 datasetId);

    // ---------------------------------------------------------------- events

    /// @notice A dataset was registered and its token minted to the caller.
    /// @param datasetId The new dataset's id.
    /// @param owner The account the token was minted to.
    /// @param contentHash The hash of the dataset's files.
    /// @param manifestHash The hash of its signed manifest.
    /// @param name The dataset's name.
    /// @param manifestURI Where the signed manifest can be fetched.
    event DatasetRegistered(
        uint256 indexed datasetId,
        address indexed owner,
        bytes32 indexed contentHash,
        bytes32 manifestHash,
        string name,
        string manifestURI
    );

    // ---------------------------------------------------------------- storage

    /// @notice A registered dataset.
    /// @param contentHash The hash of the dataset's files (as a model's weights are hashed).
    /// @param manifestHash The hash of its signed manifest.
    /// @param name The dataset's name.
    /// @param manifestURI Where the signed manifest can be fetched.
    struct Dataset {
        bytes32 contentHash;
        bytes32 manifestHash;
        string name;
        string manifestURI;
    }

    /// @dev The number of datasets registered, which is also the last id issued.
    uint256 private _datasetCount;

    /// @dev Datasets by id.
    mapping(uint256 datasetId => Dataset) private _datasets;

    /// @dev Dataset ids by content hash.
    mapping(bytes32 contentHash => uint256 datasetId) private _datasetIdOfContent;

    // ---------------------------------------------------------------- constructor

    /// @notice Deploys an empty registry.
    constructor() ERC721("Gotong Dataset", "GDATA") {}

    // ---------------------------------------------------------------- external

    /// @notice Registers a dataset and mints its token to the caller.
    /// @dev Minted without the ERC-721 receiver callback: the caller is the recipient (a DataPool
    ///      registers its own dataset from its constructor, when it has no code to answer one).
    /// @param contentHash The hash of the dataset's files; must not be zero or already registered.
    /// @param name_ The dataset's name; must not be empty.
    /// @param manifestURI Where the signed manifest can be fetched.
    /// @param manifestHash The hash of the signed manifest.
    /// @return datasetId The new dataset's id.
    function registerDataset(bytes32 contentHash, string calldata name_, string calldata manifestURI, bytes32 manifestHash)
        external
        returns (uint256 datasetId)
    {
        if (contentHash == bytes32(0)) revert EmptyContentHash();
        if (bytes(name_).length == 0) revert EmptyDatasetName();
        uint256 existing = _datasetIdOfContent[contentHash];
        if (existing != 0) revert DatasetAlreadyRegistered(contentHash, existing);

        datasetId = ++_datasetCount;
        _datasets[datasetId] =
            Dataset({contentHash: contentHash, manifestHash: manifestHash, name: name_, manifestURI: manifestURI});
        _datasetIdOfContent[contentHash] = datasetId;
        _mint(msg.sender, datasetId);

        emit DatasetRegistered(datasetId, msg.sender, contentHash, manifestHash, name_, manifestURI);
    }

    /// @notice A registered dataset.
    /// @param datasetId The dataset's id.
    /// @return The dataset.
    function getDataset(uint256 datasetId) external view returns (Dataset memory) {
        _checkExists(datasetId);
        return _datasets[datasetId];
    }

    /// @notice Whether a dataset with this id exists.
    /// @param datasetId The id.
    /// @return True when `datasetId` is in `[1, datasetCount()]`.
    function exists(uint256 datasetId) external view returns (bool) {
        return _exists(datasetId);
    }

    /// @notice The id of the dataset with this content hash.
    /// @param contentHash The hash of the files.
    /// @return The dataset id, or 0 when this content is not registered.
    function datasetIdOfContent(bytes32 contentHash) external view returns (uint256) {
        return _datasetIdOfContent[contentHash];
    }

    /// @notice The number of registered datasets, which is also the highest dataset id.
    /// @return The count.
    function datasetCount() external view returns (uint256) {
        return _datasetCount;
    }

    // ---------------------------------------------------------------- public

    /// @notice The dataset's manifest URI.
    /// @param tokenId The dataset's id.
    /// @return The URI.
    function tokenURI(uint256 tokenId) public view override returns (string memory) {
        _checkExists(tokenId);
        return _datasets[tokenId].manifestURI;
    }

    // ---------------------------------------------------------------- internal

    /// @dev Whether `datasetId` was issued.
    function _exists(uint256 datasetId) internal view returns (bool) {
        return datasetId != 0 && datasetId <= _datasetCount;
    }

    /// @dev Reverts with `DatasetNotFound` unless `datasetId` exists.
    function _checkExists(uint256 datasetId) internal view {
        if (!_exists(datasetId)) revert DatasetNotFound(datasetId);
    }
}
