// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title ModelRegistry
/// @notice The registry of open models. Each model is an ERC-721 token, ids counting from 1, minted
///         to its creator; whoever owns the token owns the model: it may withdraw the royalties the
///         model accrues on every paid inference (PaymentChannels credits them to the model id, so
///         unwithdrawn royalties go with the token) and may change its licence terms.
/// @dev A model is identified by the sha256 of its weights, which can be registered once. Tokens
///      cannot be burned, so a model id in `[1, modelCount()]` always exists.
contract ModelRegistry is ERC721, IERC2981 {
    // ---------------------------------------------------------------- errors

    /// @notice The royalty asked for is above the maximum.
    /// @param royaltyBps The royalty asked for, in basis points.
    /// @param maximum The highest royalty allowed, in basis points.
    error RoyaltyTooHigh(uint16 royaltyBps, uint16 maximum);

    /// @notice These weights are already registered.
    /// @param weightsHash The weights' hash.
    /// @param modelId The id they are registered under.
    error ModelAlreadyRegistered(bytes32 weightsHash, uint256 modelId);

    /// @notice The weights hash is zero.
    error EmptyWeightsHash();

    /// @notice The model name is empty.
    error EmptyName();

    /// @notice No model has this id.
    /// @param modelId The id asked for.
    error ModelNotFound(uint256 modelId);

    /// @notice Only the model's owner may do this.
    /// @param modelId The model.
    /// @param caller The account that tried.
    error NotModelOwner(uint256 modelId, address caller);

    // ---------------------------------------------------------------- events

    /// @notice A model was registered and its token minted to its creator.
    /// @param modelId The new model's id.
    /// @param creator The account the token was minted to.
    /// @param weightsHash The sha256 of the model's weights.
    /// @param manifestHash The hash of the model's signed manifest.
    /// @param royaltyBps The royalty on each paid inference, in basis points.
    /// @param name The model's name.
    /// @param metadataURI Where the model's manifest and metadata can be fetched.
    event ModelRegistered(
        uint256 indexed modelId,
        address indexed creator,
        bytes32 indexed weightsHash,
        bytes32 manifestHash,
        uint16 royaltyBps,
        string name,
        string metadataURI
    );

    /// @notice A model's royalty changed; channels opened from now on use it.
    /// @param modelId The model.
    /// @param royaltyBps The new royalty, in basis points.
    event RoyaltyChanged(uint256 indexed modelId, uint16 royaltyBps);

    /// @notice A model's metadata URI changed.
    /// @param modelId The model.
    /// @param metadataURI The new URI.
    event MetadataURIChanged(uint256 indexed modelId, string metadataURI);

    // ---------------------------------------------------------------- storage

    /// @notice A registered model.
    /// @param weightsHash The sha256 of the model's weights.
    /// @param manifestHash The hash of the model's signed manifest.
    /// @param royaltyBps The royalty on each paid inference, in basis points.
    /// @param name The model's name.
    /// @param metadataURI Where the model's manifest and metadata can be fetched.
    struct Model {
        bytes32 weightsHash;
        bytes32 manifestHash;
        uint16 royaltyBps;
        string name;
        string metadataURI;
    }

    /// @notice The highest royalty a model may ask, in basis points (50%).
    uint16 public constant MAX_ROYALTY_BPS = 5000;

    /// @dev Basis points in one whole.
    uint256 private constant BPS = 10_000;

    /// @dev The number of models registered, which is also the last id issued.
    uint256 private _modelCount;

    /// @dev Models by id.
    mapping(uint256 modelId => Model) private _models;

    /// @dev Model ids by weights hash.
    mapping(bytes32 weightsHash => uint256 modelId) private _modelIdOfWeights;

    // ---------------------------------------------------------------- constructor

    /// @notice Deploys an empty registry.
    constructor() ERC721("Gotong Model", "GMODEL") {}

    // ---------------------------------------------------------------- external

    /// @notice Registers a model and mints its token to the caller.
    /// @dev The token is minted without the ERC-721 receiver callback: the caller is the recipient,
    ///      so it is not at risk of receiving a token unknowingly, and there is no reentrancy point.
    /// @param name_ The model's name; must not be empty.
    /// @param weightsHash The sha256 of the weights; must not be zero or already registered.
    /// @param manifestHash The hash of the model's signed manifest.
    /// @param metadataURI Where the model's manifest and metadata can be fetched.
    /// @param royaltyBps The royalty on each paid inference, in basis points, at most `MAX_ROYALTY_BPS`.
    /// @return modelId The new model's id.
    function register(
        string calldata name_,
        bytes32 weightsHash,
        bytes32 manifestHash,
        string calldata metadataURI,
        uint16 royaltyBps
    ) external returns (uint256 modelId) {
        if (bytes(name_).length == 0) revert EmptyName();
        if (weightsHash == bytes32(0)) revert EmptyWeightsHash();
        _checkRoyalty(royaltyBps);
        uint256 existing = _modelIdOfWeights[weightsHash];
        if (existing != 0) revert ModelAlreadyRegistered(weightsHash, existing);

        modelId = ++_modelCount;
        _models[modelId] = Model({
            weightsHash: weightsHash,
            manifestHash: manifestHash,
            royaltyBps: royaltyBps,
            name: name_,
            metadataURI: metadataURI
        });
        _modelIdOfWeights[weightsHash] = modelId;
        _mint(msg.sender, modelId);

        emit ModelRegistered(modelId, msg.sender, weightsHash, manifestHash, royaltyBps, name_, metadataURI);
    }

    /// @notice Changes a model's royalty. Channels already open keep the royalty they opened with.
    /// @param modelId The model; the caller must own its token.
    /// @param royaltyBps The new royalty, in basis points, at most `MAX_ROYALTY_BPS`.
    function setRoyalty(uint256 modelId, uint16 royaltyBps) external {
        _checkOwner(modelId);
        _checkRoyalty(royaltyBps);
        _models[modelId].royaltyBps = royaltyBps;
        emit RoyaltyChanged(modelId, royaltyBps);
    }

    /// @notice Changes a model's metadata URI.
    /// @param modelId The model; the caller must own its token.
    /// @param uri The new URI.
    function setMetadataURI(uint256 modelId, string calldata uri) external {
        _checkOwner(modelId);
        _models[modelId].metadataURI = uri;
        emit MetadataURIChanged(modelId, uri);
    }

    /// @notice A registered model.
    /// @param modelId The model's id.
    /// @return The model.
    function getModel(uint256 modelId) external view returns (Model memory) {
        _checkExists(modelId);
        return _models[modelId];
    }

    /// @notice The royalty of a model, without copying its strings (cheap for other contracts).
    /// @param modelId The model's id.
    /// @return The royalty, in basis points.
    function royaltyBpsOf(uint256 modelId) external view returns (uint16) {
        _checkExists(modelId);
        return _models[modelId].royaltyBps;
    }

    /// @notice Whether a model with this id exists.
    /// @param modelId The id.
    /// @return True when `modelId` is in `[1, modelCount()]`.
    function exists(uint256 modelId) external view returns (bool) {
        return _exists(modelId);
    }

    /// @notice The id of the model with these weights.
    /// @param weightsHash The sha256 of the weights.
    /// @return The model id, or 0 when these weights are not registered.
    function modelIdOfWeights(bytes32 weightsHash) external view returns (uint256) {
        return _modelIdOfWeights[weightsHash];
    }

    /// @notice The number of registered models, which is also the highest model id.
    /// @return The count.
    function modelCount() external view returns (uint256) {
        return _modelCount;
    }

    /// @notice ERC-2981 royalty for a sale of the model's token: the same share as on inference.
    /// @param tokenId The model's id.
    /// @param salePrice The sale price.
    /// @return receiver The model's owner.
    /// @return royaltyAmount `salePrice * royaltyBps / 10000`, rounded down.
    function royaltyInfo(uint256 tokenId, uint256 salePrice)
        external
        view
        returns (address receiver, uint256 royaltyAmount)
    {
        _checkExists(tokenId);
        return (_ownerOf(tokenId), Math.mulDiv(salePrice, _models[tokenId].royaltyBps, BPS));
    }

    // ---------------------------------------------------------------- public

    /// @notice The model's metadata URI.
    /// @param tokenId The model's id.
    /// @return The URI.
    function tokenURI(uint256 tokenId) public view override returns (string memory) {
        _checkExists(tokenId);
        return _models[tokenId].metadataURI;
    }

    /// @notice ERC-165: ERC-721, its metadata extension, and ERC-2981.
    /// @param interfaceId The interface id.
    /// @return Whether it is supported.
    function supportsInterface(bytes4 interfaceId) public view override(ERC721, IERC165) returns (bool) {
        return interfaceId == type(IERC2981).interfaceId || super.supportsInterface(interfaceId);
    }

    // ---------------------------------------------------------------- internal

    /// @dev Whether `modelId` was issued.
    function _exists(uint256 modelId) internal view returns (bool) {
        return modelId != 0 && modelId <= _modelCount;
    }

    /// @dev Reverts with `ModelNotFound` unless `modelId` exists.
    function _checkExists(uint256 modelId) internal view {
        if (!_exists(modelId)) revert ModelNotFound(modelId);
    }

    /// @dev Reverts unless `modelId` exists and the caller owns it.
    function _checkOwner(uint256 modelId) internal view {
        _checkExists(modelId);
        if (_ownerOf(modelId) != msg.sender) revert NotModelOwner(modelId, msg.sender);
    }

    /// @dev Reverts with `RoyaltyTooHigh` when `royaltyBps` is above the maximum.
    function _checkRoyalty(uint16 royaltyBps) internal pure {
        if (royaltyBps > MAX_ROYALTY_BPS) revert RoyaltyTooHigh(royaltyBps, MAX_ROYALTY_BPS);
    }
}
