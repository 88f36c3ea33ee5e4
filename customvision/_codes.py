"""Error codes the Training API returns in `CustomVisionError.code` (spec v3.3, `CustomVisionErrorCodes`)."""

import re
from enum import StrEnum

from azure.core import CaseInsensitiveEnumMeta

# The spec's `CustomVisionErrorCodes`, in its order; each member's name is its code in UPPER_SNAKE_CASE.
SERVICE_CODES: tuple[str, ...] = (
    "NoError",
    "BadRequest",
    "BadRequestExceededBatchSize",
    "BadRequestNotSupported",
    "BadRequestInvalidIds",
    "BadRequestProjectName",
    "BadRequestProjectNameNotUnique",
    "BadRequestProjectDescription",
    "BadRequestProjectUnknownDomain",
    "BadRequestProjectUnknownClassification",
    "BadRequestProjectUnsupportedDomainTypeChange",
    "BadRequestProjectUnsupportedExportPlatform",
    "BadRequestProjectImagePreprocessingSettings",
    "BadRequestProjectDuplicated",
    "BadRequestIterationName",
    "BadRequestIterationNameNotUnique",
    "BadRequestIterationDescription",
    "BadRequestIterationIsNotTrained",
    "BadRequestIterationValidationFailed",
    "BadRequestWorkspaceCannotBeModified",
    "BadRequestWorkspaceNotDeletable",
    "BadRequestTagName",
    "BadRequestTagNameNotUnique",
    "BadRequestTagDescription",
    "BadRequestTagType",
    "BadRequestMultipleNegativeTag",
    "BadRequestMultipleGeneralProductTag",
    "BadRequestImageTags",
    "BadRequestImageRegions",
    "BadRequestNegativeAndRegularTagOnSameImage",
    "BadRequestUnsupportedDomain",
    "BadRequestRequiredParamIsNull",
    "BadRequestIterationIsPublished",
    "BadRequestInvalidPublishName",
    "BadRequestInvalidPublishTarget",
    "BadRequestUnpublishFailed",
    "BadRequestIterationNotPublished",
    "BadRequestSubscriptionApi",
    "BadRequestExceedProjectLimit",
    "BadRequestExceedIterationPerProjectLimit",
    "BadRequestExceedTagPerProjectLimit",
    "BadRequestExceedTagPerImageLimit",
    "BadRequestExceededQuota",
    "BadRequestCannotMigrateProjectWithName",
    "BadRequestNotLimitedTrial",
    "BadRequestImageBatch",
    "BadRequestImageStream",
    "BadRequestImageUrl",
    "BadRequestImageFormat",
    "BadRequestImageSizeBytes",
    "BadRequestImageDimensions",
    "BadRequestImageExceededCount",
    "BadRequestTrainingNotNeeded",
    "BadRequestTrainingNotNeededButTrainingPipelineUpdated",
    "BadRequestTrainingValidationFailed",
    "BadRequestClassificationTrainingValidationFailed",
    "BadRequestMultiClassClassificationTrainingValidationFailed",
    "BadRequestMultiLabelClassificationTrainingValidationFailed",
    "BadRequestDetectionTrainingValidationFailed",
    "BadRequestTrainingAlreadyInProgress",
    "BadRequestDetectionTrainingNotAllowNegativeTag",
    "BadRequestInvalidEmailAddress",
    "BadRequestDomainNotSupportedForAdvancedTraining",
    "BadRequestExportPlatformNotSupportedForAdvancedTraining",
    "BadRequestReservedBudgetInHoursNotEnoughForAdvancedTraining",
    "BadRequestExportValidationFailed",
    "BadRequestExportAlreadyInProgress",
    "BadRequestPredictionIdsMissing",
    "BadRequestPredictionIdsExceededCount",
    "BadRequestPredictionTagsExceededCount",
    "BadRequestPredictionResultsExceededCount",
    "BadRequestPredictionInvalidApplicationName",
    "BadRequestPredictionInvalidQueryParameters",
    "BadRequestInvalidImportToken",
    "BadRequestExportWhileTraining",
    "BadRequestImageMetadataKey",
    "BadRequestImageMetadataValue",
    "BadRequestOperationNotSupported",
    "BadRequestInvalidArtifactUri",
    "BadRequestCustomerManagedKeyRevoked",
    "BadRequestInvalid",
    "UnsupportedMediaType",
    "Forbidden",
    "ForbiddenUser",
    "ForbiddenUserResource",
    "ForbiddenUserSignupDisabled",
    "ForbiddenUserSignupAllowanceExceeded",
    "ForbiddenUserDoesNotExist",
    "ForbiddenUserDisabled",
    "ForbiddenUserInsufficientCapability",
    "ForbiddenDRModeEnabled",
    "ForbiddenInvalid",
    "NotFound",
    "NotFoundProject",
    "NotFoundProjectDefaultIteration",
    "NotFoundIteration",
    "NotFoundIterationPerformance",
    "NotFoundTag",
    "NotFoundImage",
    "NotFoundDomain",
    "NotFoundApimSubscription",
    "NotFoundInvalid",
    "Conflict",
    "ConflictInvalid",
    "ErrorUnknown",
    "ErrorIterationCopyFailed",
    "ErrorPreparePerformanceMigrationFailed",
    "ErrorProjectInvalidWorkspace",
    "ErrorProjectInvalidPipelineConfiguration",
    "ErrorProjectInvalidDomain",
    "ErrorProjectTrainingRequestFailed",
    "ErrorProjectImportRequestFailed",
    "ErrorProjectExportRequestFailed",
    "ErrorFeaturizationServiceUnavailable",
    "ErrorFeaturizationQueueTimeout",
    "ErrorFeaturizationInvalidFeaturizer",
    "ErrorFeaturizationAugmentationUnavailable",
    "ErrorFeaturizationUnrecognizedJob",
    "ErrorFeaturizationAugmentationError",
    "ErrorExporterInvalidPlatform",
    "ErrorExporterInvalidFeaturizer",
    "ErrorExporterInvalidClassifier",
    "ErrorPredictionServiceUnavailable",
    "ErrorPredictionModelNotFound",
    "ErrorPredictionModelNotCached",
    "ErrorPrediction",
    "ErrorPredictionStorage",
    "ErrorRegionProposal",
    "ErrorUnknownBaseModel",
    "ErrorInvalid",
)


def constant_name(code: str) -> str:
    """`ForbiddenDRModeEnabled` -> `FORBIDDEN_DR_MODE_ENABLED`: a word starts at a capital after a lower-case letter or
    digit, or at the last capital of an acronym."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", code).upper()


class _ServiceCode(StrEnum, metaclass=CaseInsensitiveEnumMeta):
    """Name and value lookups are case-insensitive, as the service's own parser is."""

    @classmethod
    def _missing_(cls, value: object) -> "_ServiceCode | None":
        """Match values case-insensitively."""
        if isinstance(value, str):
            for member in cls:
                if member.value.lower() == value.lower():
                    return member
        return None


CustomVisionErrorCode = _ServiceCode("CustomVisionErrorCode", [(constant_name(code), code) for code in SERVICE_CODES])
CustomVisionErrorCode.__doc__ = "A service error code; name and value lookups are case-insensitive."
