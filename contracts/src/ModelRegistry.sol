// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {DatasetRegistry} from "./DatasetRegistry.sol";

/// @title ModelRegistry
/// @notice The registry of open models. Each model is an ERC-721 token, ids counting from 1, minted
///         to its creator; whoever owns the token owns the model: it may withdraw the royalties the
///         model accrues on every paid inference (PaymentChannels credits them to the model id, so
///         unwithdrawn royalties go with the token) and may change its licence terms.
///
///         Lineage: a model made from other models (a fine-tune, merge, quantisation, distillation
///         or adapter) or trained on registered datasets is registered with `registerDerivative`,
///         which records its parents and datasets with the share of its royalty each is paid.
///         Lineage is fixed at registration with one exception: when the derivation court (wired
///         once by the deployer) rules that a model is an undeclared derivative of an older one,
///         `addRuledParent` adds that parent. Nothing is ever removed or lowered, and royalties
///         already flowed never move; PaymentChannels' `flowRoyalties` pays the shares out of what
///         the model earns.
/// @dev A model is identified by the sha256 of its weights, which can be registered once. Tokens
///      cannot be burned, so a model id in `[1, modelCount()]` always exists. A parent must already
///      exist when its derivative registers, so every parent id is lower than its child's: the
///      lineage is a DAG and a cycle (or a model its own parent) cannot be expressed.
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

    /// @notice A declared parent is not a registered model. Parents must exist before their
    ///         derivative (which is also why a lineage cannot contain a cycle or the model itself).
    /// @param parentId The parent id given.
    error ParentNotFound(uint256 parentId);

    /// @notice The same parent is named twice: it would be paid twice for one derivation.
    /// @param parentId The repeated parent.
    error DuplicateParent(uint256 parentId);

    /// @notice The relation code is not one of 1 (fine-tune), 2 (merge), 3 (quantisation),
    ///         4 (distillation), 5 (adapter).
    /// @param parentId The parent it was given for.
    /// @param relation The code given.
    error InvalidRelation(uint256 parentId, uint8 relation);

    /// @notice The lineage would be deeper than `MAX_DEPTH`: each level is one more flow of
    ///         royalties, so depth bounds what paying the whole stack costs.
    /// @param depth The depth the model would have.
    /// @param maximum `MAX_DEPTH`.
    error LineageTooDeep(uint256 depth, uint256 maximum);

    /// @notice The parents' and datasets' shares add up to more than `MAX_STACK_BPS` of the royalty,
    ///         which would leave the model itself (nearly) nothing.
    /// @param totalBps The sum of the shares, in basis points.
    /// @param maximum `MAX_STACK_BPS`.
    error StackTooLarge(uint256 totalBps, uint256 maximum);

    /// @notice The share declared for a parent is below what the parent's licence asks of its
    ///         derivatives (`minDerivativeShareBps`, set by its owner with `setDerivativeTerms`).
    /// @param parentId The parent.
    /// @param shareBps The share declared, in basis points.
    /// @param minimumBps The parent's minimum, in basis points.
    error ShareBelowParentTerms(uint256 parentId, uint16 shareBps, uint16 minimumBps);

    /// @notice A declared dataset is not registered in `datasets()`.
    /// @param datasetId The dataset id given.
    error DatasetNotFound(uint256 datasetId);

    /// @notice The same dataset is named twice: it would be paid twice.
    /// @param datasetId The repeated dataset.
    error DuplicateDataset(uint256 datasetId);

    /// @notice More parents than `MAX_PARENTS`: each is a write in every flow of royalties.
    /// @param count The number given.
    /// @param maximum `MAX_PARENTS`.
    error TooManyParents(uint256 count, uint256 maximum);

    /// @notice More datasets than `MAX_DATASETS`: each is a write in every flow of royalties.
    /// @param count The number given.
    /// @param maximum `MAX_DATASETS`.
    error TooManyDatasets(uint256 count, uint256 maximum);

    /// @notice The minimum share asked of derivatives is above `MAX_STACK_BPS`, which no derivative
    ///         could ever declare.
    /// @param minShareBps The minimum asked, in basis points.
    /// @param maximum `MAX_STACK_BPS`.
    error DerivativeTermsTooHigh(uint16 minShareBps, uint16 maximum);

    /// @notice A registration declared a zero fingerprint: register without one instead (the
    ///         overload without `fingerprint`), so that every `ModelFingerprinted` event means one.
    error EmptyFingerprint();

    /// @notice Only the deployer may wire the derivation court, and only once.
    /// @param caller The account that tried.
    error NotDeployer(address caller);

    /// @notice The derivation court is wired already.
    /// @param court The court.
    error CourtAlreadySet(address court);

    /// @notice The derivation court's address is zero.
    error ZeroCourt();

    /// @notice Only the derivation court may add a parent to a registered model (its verdict).
    /// @param caller The account that tried.
    error NotCourt(address caller);

    /// @notice The model already names this parent.
    /// @param modelId The model.
    /// @param parentId The parent.
    error AlreadyParent(uint256 modelId, uint256 parentId);

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

    /// @notice A derivative was registered naming `parentId` as a parent (one event per parent).
    /// @param modelId The derivative.
    /// @param parentId The parent.
    /// @param relation How it was made from the parent (1 fine-tune, 2 merge, 3 quantisation,
    ///        4 distillation, 5 adapter).
    /// @param shareBps The share of the derivative's royalty the parent is paid, in basis points.
    event ModelDerived(uint256 indexed modelId, uint256 indexed parentId, uint8 relation, uint16 shareBps);

    /// @notice A model was registered naming a dataset it was trained on (one event per dataset).
    /// @param modelId The model.
    /// @param datasetId The dataset.
    /// @param shareBps The share of the model's royalty the dataset is paid, in basis points.
    event DatasetUsed(uint256 indexed modelId, uint256 indexed datasetId, uint16 shareBps);

    /// @notice A model's owner set the least share its derivatives must pay it; derivatives
    ///         registered from now on are held to it (lineage already registered is fixed).
    /// @param modelId The model.
    /// @param minShareBps The minimum share, in basis points.
    event DerivativeTermsChanged(uint256 indexed modelId, uint16 minShareBps);

    /// @notice A model was registered with the fingerprint of what its weights are, independent of
    ///         how they are stored (architecture, tensor names and shapes, vocabulary), so that a
    ///         client on any machine can tell that a new file is a re-upload or quantisation of it.
    ///         Emitted only by the registering call, for the id it issues (see `register`).
    /// @param modelId The model just registered.
    /// @param fingerprint The hash of its fingerprint, as the Gotong client encodes it
    ///        (`hashModelFingerprint`); self-declared: the registry cannot see the weights.
    event ModelFingerprinted(uint256 indexed modelId, bytes32 indexed fingerprint);

    /// @notice The derivation court was wired (once, by the deployer).
    /// @param court The court whose verdicts may add a parent to a registered model.
    event DerivationCourtSet(address indexed court);

    /// @notice The derivation court ruled that `modelId` is a derivative of `parentId` that its
    ///         registration did not declare; the parent is added to its lineage (with a
    ///         `ModelDerived` event, as a declared parent) and is paid its share from now on.
    /// @param modelId The derivative.
    /// @param parentId The parent it was ruled to derive from.
    /// @param caseId The court's case.
    /// @param shareBps The share added (the parent's derivative terms, less whatever did not fit
    ///        under `MAX_STACK_BPS`).
    event ParentRuled(uint256 indexed modelId, uint256 indexed parentId, bytes32 indexed caseId, uint16 shareBps);

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

    /// @notice A parent of a derivative, as `registerDerivative` takes it and `parentsOf` returns it.
    /// @param modelId The parent model.
    /// @param relation 1 fine-tune, 2 merge, 3 quantisation, 4 distillation, 5 adapter.
    /// @param shareBps The share of the derivative's royalty paid to the parent, in basis points.
    struct Parent {
        uint256 modelId;
        uint8 relation;
        uint16 shareBps;
    }

    /// @notice A dataset a model was trained on, with the share of its royalty the dataset is paid.
    /// @param datasetId The dataset (in `datasets()`).
    /// @param shareBps The share of the model's royalty, in basis points.
    struct DataShare {
        uint256 datasetId;
        uint16 shareBps;
    }

    /// @dev A lineage entry as stored: one slot (ids are far below 2^64: a registration each).
    struct Link {
        uint64 id;
        uint8 relation;
        uint16 shareBps;
    }

    /// @notice The highest royalty a model may ask, in basis points (50%).
    uint16 public constant MAX_ROYALTY_BPS = 5000;

    /// @notice The longest chain of ancestors a model may have.
    uint8 public constant MAX_DEPTH = 5;

    /// @notice The most of a model's royalty its parents and datasets may take together, in basis
    ///         points (90%), so the model itself always keeps a share.
    uint16 public constant MAX_STACK_BPS = 9000;

    /// @notice The most parents one model may name.
    uint256 public constant MAX_PARENTS = 16;

    /// @notice The most datasets one model may name.
    uint256 public constant MAX_DATASETS = 64;

    /// @notice The highest relation code (adapter).
    uint8 public constant MAX_RELATION = 5;

    /// @notice The registry of datasets a model may name, deployed by this registry's constructor.
    DatasetRegistry public immutable datasets;

    /// @dev Basis points in one whole.
    uint256 private constant BPS = 10_000;

    /// @dev The number of models registered, which is also the last id issued.
    uint256 private _modelCount;

    /// @dev Models by id.
    mapping(uint256 modelId => Model) private _models;

    /// @dev Model ids by weights hash.
    mapping(bytes32 weightsHash => uint256 modelId) private _modelIdOfWeights;

    /// @dev Parents by model, fixed at registration (the court may add one: `addRuledParent`).
    mapping(uint256 modelId => Link[]) private _parents;

    /// @dev Datasets by model, fixed at registration.
    mapping(uint256 modelId => Link[]) private _datasetShares;

    /// @dev What a model's lineage costs to read, in one slot: its depth and whether it names
    ///      any parent or dataset (X402Splitter reads it on every payment).
    struct LineageHead {
        uint8 depth;
        bool stacked;
    }

    /// @dev Lineage heads by model (zero for a model without lineage).
    mapping(uint256 modelId => LineageHead) private _lineageHead;

    /// @dev The least share a derivative must pay the model, set by the model's owner.
    mapping(uint256 modelId => uint16) private _minDerivativeShareBps;

    /// @notice The account that deployed the registry: the only one that may wire the court, once.
    address public immutable deployer;

    /// @notice The contract whose verdicts add an undeclared parent to a registered model (see
    ///         `addRuledParent`); zero until the deployer wires it.
    address public derivationCourt;

    // ---------------------------------------------------------------- constructor

    /// @notice Deploys an empty registry and its dataset registry. Deploying the dataset registry
    ///         here (rather than taking its address) keeps the constructor as it was, and means no
    ///         one can point the model registry at a dataset registry of their choosing.
    constructor() ERC721("Gotong Model", "GMODEL") {
        datasets = new DatasetRegistry();
        deployer = msg.sender;
    }

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
        modelId = _register(name_, weightsHash, manifestHash, metadataURI, royaltyBps);
    }

    /// @notice Registers a model, as `register` above, and declares its fingerprint: the hash of
    ///         what its weights are independent of their bytes, which clients compare with a new
    ///         model's to tell a re-upload or quantisation of this one from any machine.
    /// @dev The fingerprint is declared in the registering call and nowhere else, for the id that
    ///      call issues. Lowest id wins among models with one fingerprint (the original is older
    ///      than its copies), so a fingerprint declared later, by whoever holds an older token,
    ///      could claim a model registered in between as its copy; bound to registration, the
    ///      order of declarations is the order of ids, a stranger can never declare one for
    ///      someone else's model, and no "declared once" flag needs storing. It costs one event
    ///      and no storage: nothing on-chain reads it (the check is the client's, before it sends
    ///      anything), and clients read it with the `ModelRegistered` events they already fetch;
    ///      a slot would cost every registration 20k gas more for a value no contract reads.
    /// @param name_ The model's name; must not be empty.
    /// @param weightsHash The sha256 of the weights; must not be zero or already registered.
    /// @param manifestHash The hash of the model's signed manifest.
    /// @param metadataURI Where the model's manifest and metadata can be fetched.
    /// @param royaltyBps The royalty on each paid inference, in basis points, at most `MAX_ROYALTY_BPS`.
    /// @param fingerprint The fingerprint's hash (`hashModelFingerprint` in the client); not zero.
    /// @return modelId The new model's id.
    function register(
        string calldata name_,
        bytes32 weightsHash,
        bytes32 manifestHash,
        string calldata metadataURI,
        uint16 royaltyBps,
        bytes32 fingerprint
    ) external returns (uint256 modelId) {
        modelId = _register(name_, weightsHash, manifestHash, metadataURI, royaltyBps);
        _declareFingerprint(modelId, fingerprint);
    }

    /// @notice Registers a model made from other models and/or trained on registered datasets, and
    ///         mints its token to the caller. The lineage is recorded for good: each parent and
    ///         dataset is paid its share of the model's royalty when PaymentChannels flows it.
    /// @dev Refused: a parent that does not exist (`ParentNotFound`; parents are older ids, so no
    ///      cycle is possible), a parent named twice, an unknown relation, depth above `MAX_DEPTH`,
    ///      shares above `MAX_STACK_BPS` in total, a share below the parent's `minDerivativeShareBps`,
    ///      a dataset that does not exist or is named twice, more than `MAX_PARENTS` parents or
    ///      `MAX_DATASETS` datasets. A share of zero is allowed (credit without payment) when the
    ///      parent's terms allow it.
    /// @param name_ The model's name; must not be empty.
    /// @param weightsHash The sha256 of the weights; must not be zero or already registered.
    /// @param manifestHash The hash of the model's signed manifest (which names the same lineage).
    /// @param metadataURI Where the model's manifest and metadata can be fetched.
    /// @param royaltyBps The royalty on each paid inference, in basis points, at most `MAX_ROYALTY_BPS`.
    /// @param parents The models it was made from.
    /// @param datasetShares The datasets it was trained on.
    /// @return modelId The new model's id.
    function registerDerivative(
        string calldata name_,
        bytes32 weightsHash,
        bytes32 manifestHash,
        string calldata metadataURI,
        uint16 royaltyBps,
        Parent[] calldata parents,
        DataShare[] calldata datasetShares
    ) external returns (uint256 modelId) {
        modelId = _registerDerivative(name_, weightsHash, manifestHash, metadataURI, royaltyBps, parents, datasetShares);
    }

    /// @notice Registers a model with its lineage, as `registerDerivative` above, and declares its
    ///         fingerprint (see the `register` overload that takes one: a quantisation has its
    ///         parent's fingerprint, so its copies then match the lowest id, the parent).
    /// @param name_ The model's name; must not be empty.
    /// @param weightsHash The sha256 of the weights; must not be zero or already registered.
    /// @param manifestHash The hash of the model's signed manifest (which names the same lineage).
    /// @param metadataURI Where the model's manifest and metadata can be fetched.
    /// @param royaltyBps The royalty on each paid inference, in basis points, at most `MAX_ROYALTY_BPS`.
    /// @param parents The models it was made from.
    /// @param datasetShares The datasets it was trained on.
    /// @param fingerprint The fingerprint's hash (`hashModelFingerprint` in the client); not zero.
    /// @return modelId The new model's id.
    function registerDerivative(
        string calldata name_,
        bytes32 weightsHash,
        bytes32 manifestHash,
        string calldata metadataURI,
        uint16 royaltyBps,
        Parent[] calldata parents,
        DataShare[] calldata datasetShares,
        bytes32 fingerprint
    ) external returns (uint256 modelId) {
        modelId = _registerDerivative(name_, weightsHash, manifestHash, metadataURI, royaltyBps, parents, datasetShares);
        _declareFingerprint(modelId, fingerprint);
    }

    /// @notice Sets the least share of their royalty that derivatives of this model must pay it
    ///         (its licence terms for derivatives). Applies to derivatives registered from now on.
    /// @param modelId The model; the caller must own its token.
    /// @param minShareBps The minimum share, in basis points, at most `MAX_STACK_BPS`.
    function setDerivativeTerms(uint256 modelId, uint16 minShareBps) external {
        _checkOwner(modelId);
        if (minShareBps > MAX_STACK_BPS) revert DerivativeTermsTooHigh(minShareBps, MAX_STACK_BPS);
        _minDerivativeShareBps[modelId] = minShareBps;
        emit DerivativeTermsChanged(modelId, minShareBps);
    }

    /// @notice The least share a derivative of this model must pay it.
    /// @param modelId The model.
    /// @return The minimum share, in basis points.
    function minDerivativeShareBps(uint256 modelId) external view returns (uint16) {
        _checkExists(modelId);
        return _minDerivativeShareBps[modelId];
    }

    /// @notice Wires the derivation court, once: the deployer deploys it with this registry and
    ///         calls this right after, so from then on no one (the deployer included) can change
    ///         which contract's verdicts may extend a lineage.
    /// @param court The DerivationCourt.
    function setDerivationCourt(address court) external {
        if (msg.sender != deployer) revert NotDeployer(msg.sender);
        if (derivationCourt != address(0)) revert CourtAlreadySet(derivationCourt);
        if (court == address(0)) revert ZeroCourt();
        derivationCourt = court;
        emit DerivationCourtSet(court);
    }

    /// @notice Adds a parent to a registered model on the court's verdict that the model is its
    ///         undeclared derivative. The only way a lineage changes after registration, and only
    ///         by adding: the parent is paid its share of royalties that flow from now on
    ///         (including royalties already credited to the model and not yet flowed, which were
    ///         earned while the parent went unnamed); nothing already flowed moves. The share is
    ///         what the court asks (the parent's derivative terms when the case opened), cut to
    ///         what still fits under `MAX_STACK_BPS` so the model always keeps a part.
    /// @dev The parent must be older (`parentId < modelId`), so a ruled parent can never close a
    ///      cycle. The model's depth becomes at least the parent's plus one; its descendants keep
    ///      the depth they registered with (depth bounds what a registration may declare;
    ///      royalties flow one level per call, so a deeper lineage costs no more per flow).
    /// @param modelId The derivative.
    /// @param parentId The parent; older than `modelId`, not already its parent.
    /// @param relation 1 fine-tune, 2 merge, 3 quantisation, 4 distillation, 5 adapter.
    /// @param shareBps The share asked for, in basis points.
    /// @param caseId The court's case, for the record.
    /// @return added The share recorded.
    function addRuledParent(uint256 modelId, uint256 parentId, uint8 relation, uint16 shareBps, bytes32 caseId)
        external
        returns (uint16 added)
    {
        if (msg.sender != derivationCourt) revert NotCourt(msg.sender);
        _checkExists(modelId);
        if (parentId == 0 || parentId >= modelId) revert ParentNotFound(parentId);
        if (relation == 0 || relation > MAX_RELATION) revert InvalidRelation(parentId, relation);
        Link[] storage links = _parents[modelId];
        if (links.length >= MAX_PARENTS) revert TooManyParents(links.length + 1, MAX_PARENTS);
        uint256 total;
        for (uint256 i; i < links.length; ++i) {
            if (links[i].id == parentId) revert AlreadyParent(modelId, parentId);
            total += links[i].shareBps;
        }
        Link[] storage data = _datasetShares[modelId];
        for (uint256 i; i < data.length; ++i) {
            total += data[i].shareBps;
        }
        uint256 room = MAX_STACK_BPS - total;
        // casting to 'uint16' is safe because `room <= MAX_STACK_BPS`
        // forge-lint: disable-next-line(unsafe-typecast)
        added = shareBps > room ? uint16(room) : shareBps;
        // casting to 'uint64' is safe because `parentId < modelId`, a count of registrations
        // forge-lint: disable-next-line(unsafe-typecast)
        links.push(Link({id: uint64(parentId), relation: relation, shareBps: added}));
        LineageHead storage head = _lineageHead[modelId];
        uint8 parentDepth = _lineageHead[parentId].depth;
        if (parentDepth < type(uint8).max && parentDepth + 1 > head.depth) head.depth = parentDepth + 1;
        head.stacked = true;
        emit ModelDerived(modelId, parentId, relation, added);
        emit ParentRuled(modelId, parentId, caseId, added);
    }

    /// @notice The parents a model was registered with.
    /// @param modelId The model.
    /// @return parents Its parents, in the order registered (empty for a base model).
    function parentsOf(uint256 modelId) external view returns (Parent[] memory parents) {
        _checkExists(modelId);
        Link[] storage links = _parents[modelId];
        parents = new Parent[](links.length);
        for (uint256 i; i < links.length; ++i) {
            Link memory l = links[i];
            parents[i] = Parent({modelId: l.id, relation: l.relation, shareBps: l.shareBps});
        }
    }

    /// @notice The datasets a model was registered with.
    /// @param modelId The model.
    /// @return shares Its datasets and their shares, in the order registered.
    function datasetsOf(uint256 modelId) external view returns (DataShare[] memory shares) {
        _checkExists(modelId);
        shares = _dataShares(modelId);
    }

    /// @notice The length of a model's longest chain of ancestors (0 for a base model).
    /// @param modelId The model.
    /// @return The depth.
    function depthOf(uint256 modelId) external view returns (uint8) {
        _checkExists(modelId);
        return _lineageHead[modelId].depth;
    }

    /// @notice Whether a model owes any share of its royalty to parents or datasets (cheap for
    ///         X402Splitter, which pays the royalty of such a model through PaymentChannels).
    /// @param modelId The model.
    /// @return True when it was registered with at least one parent or dataset.
    function hasRoyaltyStack(uint256 modelId) external view returns (bool) {
        return _lineageHead[modelId].stacked;
    }

    /// @notice A model's royalty and whether it has a royalty stack, in one call (X402Splitter's
    ///         split needs both).
    /// @param modelId The model's id.
    /// @return royaltyBps The royalty, in basis points.
    /// @return stacked Whether it names any parent or dataset.
    function royaltyTermsOf(uint256 modelId) external view returns (uint16 royaltyBps, bool stacked) {
        _checkExists(modelId);
        return (_models[modelId].royaltyBps, _lineageHead[modelId].stacked);
    }

    /// @notice What PaymentChannels pays out of a model's royalties: parent ids and shares, and
    ///         dataset ids and shares, as flat arrays (cheap to decode). Empty for a model without
    ///         lineage and for an id that does not exist.
    /// @param modelId The model.
    /// @return parentIds The parents.
    /// @return parentShares Their shares, in basis points.
    /// @return datasetIds The datasets.
    /// @return datasetShareBps Their shares, in basis points.
    function royaltyStackOf(uint256 modelId)
        external
        view
        returns (
            uint256[] memory parentIds,
            uint16[] memory parentShares,
            uint256[] memory datasetIds,
            uint16[] memory datasetShareBps
        )
    {
        Link[] storage p = _parents[modelId];
        parentIds = new uint256[](p.length);
        parentShares = new uint16[](p.length);
        for (uint256 i; i < p.length; ++i) {
            Link memory l = p[i];
            parentIds[i] = l.id;
            parentShares[i] = l.shareBps;
        }
        Link[] storage d = _datasetShares[modelId];
        datasetIds = new uint256[](d.length);
        datasetShareBps = new uint16[](d.length);
        for (uint256 i; i < d.length; ++i) {
            Link memory l = d[i];
            datasetIds[i] = l.id;
            datasetShareBps[i] = l.shareBps;
        }
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

    /// @dev Registers the model itself (both `register` and `registerDerivative`).
    function _register(
        string calldata name_,
        bytes32 weightsHash,
        bytes32 manifestHash,
        string calldata metadataURI,
        uint16 royaltyBps
    ) internal returns (uint256 modelId) {
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

    /// @dev Registers a model and records its lineage (both `registerDerivative`s).
    function _registerDerivative(
        string calldata name_,
        bytes32 weightsHash,
        bytes32 manifestHash,
        string calldata metadataURI,
        uint16 royaltyBps,
        Parent[] calldata parents,
        DataShare[] calldata datasetShares
    ) internal returns (uint256 modelId) {
        if (parents.length > MAX_PARENTS) revert TooManyParents(parents.length, MAX_PARENTS);
        if (datasetShares.length > MAX_DATASETS) revert TooManyDatasets(datasetShares.length, MAX_DATASETS);
        modelId = _register(name_, weightsHash, manifestHash, metadataURI, royaltyBps);
        uint256 total = _recordParents(modelId, parents);
        total += _recordDatasets(modelId, datasetShares);
        if (total > MAX_STACK_BPS) revert StackTooLarge(total, MAX_STACK_BPS);
        if (parents.length != 0 || datasetShares.length != 0) _lineageHead[modelId].stacked = true;
    }

    /// @dev Emits the fingerprint of the just-registered `modelId` (both overloads that take one).
    function _declareFingerprint(uint256 modelId, bytes32 fingerprint) internal {
        if (fingerprint == bytes32(0)) revert EmptyFingerprint();
        emit ModelFingerprinted(modelId, fingerprint);
    }

    /// @dev Records `parents` for `modelId` and its depth; returns the sum of their shares.
    function _recordParents(uint256 modelId, Parent[] calldata parents) internal returns (uint256 total) {
        Link[] storage links = _parents[modelId];
        uint256 depth;
        for (uint256 i; i < parents.length; ++i) {
            Parent calldata p = parents[i];
            uint256 parentId = p.modelId;
            // `modelId` was just issued, so an existing parent is strictly older: no cycle, no self.
            if (parentId == 0 || parentId >= modelId) revert ParentNotFound(parentId);
            if (p.relation == 0 || p.relation > MAX_RELATION) revert InvalidRelation(parentId, p.relation);
            for (uint256 j; j < i; ++j) {
                if (parents[j].modelId == parentId) revert DuplicateParent(parentId);
            }
            uint16 minimum = _minDerivativeShareBps[parentId];
            if (p.shareBps < minimum) revert ShareBelowParentTerms(parentId, p.shareBps, minimum);
            uint256 parentDepth = uint256(_lineageHead[parentId].depth) + 1;
            if (parentDepth > depth) depth = parentDepth;
            total += p.shareBps;
            // casting to 'uint64' is safe because `parentId < modelId`, a count of registrations
            // forge-lint: disable-next-line(unsafe-typecast)
            links.push(Link({id: uint64(parentId), relation: p.relation, shareBps: p.shareBps}));
            emit ModelDerived(modelId, parentId, p.relation, p.shareBps);
        }
        if (depth > MAX_DEPTH) revert LineageTooDeep(depth, MAX_DEPTH);
        // casting to 'uint8' is safe because `depth <= MAX_DEPTH`
        // forge-lint: disable-next-line(unsafe-typecast)
        _lineageHead[modelId].depth = uint8(depth);
    }

    /// @dev Records `shares` for `modelId`; returns the sum of their shares.
    function _recordDatasets(uint256 modelId, DataShare[] calldata shares) internal returns (uint256 total) {
        if (shares.length == 0) return 0;
        Link[] storage links = _datasetShares[modelId];
        DatasetRegistry registry = datasets;
        for (uint256 i; i < shares.length; ++i) {
            DataShare calldata d = shares[i];
            uint256 datasetId = d.datasetId;
            if (!registry.exists(datasetId)) revert DatasetNotFound(datasetId);
            for (uint256 j; j < i; ++j) {
                if (shares[j].datasetId == datasetId) revert DuplicateDataset(datasetId);
            }
            total += d.shareBps;
            // casting to 'uint64' is safe because dataset ids count registrations
            // forge-lint: disable-next-line(unsafe-typecast)
            links.push(Link({id: uint64(datasetId), relation: 0, shareBps: d.shareBps}));
            emit DatasetUsed(modelId, datasetId, d.shareBps);
        }
    }

    /// @dev A model's datasets as `DataShare`s.
    function _dataShares(uint256 modelId) internal view returns (DataShare[] memory shares) {
        Link[] storage links = _datasetShares[modelId];
        shares = new DataShare[](links.length);
        for (uint256 i; i < links.length; ++i) {
            shares[i] = DataShare({datasetId: links[i].id, shareBps: links[i].shareBps});
        }
    }

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
