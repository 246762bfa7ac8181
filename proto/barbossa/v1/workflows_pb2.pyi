import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from barbossa.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VariableType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VARIABLE_TYPE_UNSPECIFIED: _ClassVar[VariableType]
    VARIABLE_TYPE_STRING: _ClassVar[VariableType]
    VARIABLE_TYPE_INT: _ClassVar[VariableType]
    VARIABLE_TYPE_BOOL: _ClassVar[VariableType]
    VARIABLE_TYPE_CHOICE: _ClassVar[VariableType]

class RunCondition(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RUN_CONDITION_UNSPECIFIED: _ClassVar[RunCondition]
    RUN_CONDITION_ALL_SUCCEEDED: _ClassVar[RunCondition]
    RUN_CONDITION_ALWAYS: _ClassVar[RunCondition]
    RUN_CONDITION_ON_FAILURE: _ClassVar[RunCondition]

class WorkflowSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WORKFLOW_SOURCE_UNSPECIFIED: _ClassVar[WorkflowSource]
    WORKFLOW_SOURCE_TEMPLATE: _ClassVar[WorkflowSource]
    WORKFLOW_SOURCE_API: _ClassVar[WorkflowSource]
VARIABLE_TYPE_UNSPECIFIED: VariableType
VARIABLE_TYPE_STRING: VariableType
VARIABLE_TYPE_INT: VariableType
VARIABLE_TYPE_BOOL: VariableType
VARIABLE_TYPE_CHOICE: VariableType
RUN_CONDITION_UNSPECIFIED: RunCondition
RUN_CONDITION_ALL_SUCCEEDED: RunCondition
RUN_CONDITION_ALWAYS: RunCondition
RUN_CONDITION_ON_FAILURE: RunCondition
WORKFLOW_SOURCE_UNSPECIFIED: WorkflowSource
WORKFLOW_SOURCE_TEMPLATE: WorkflowSource
WORKFLOW_SOURCE_API: WorkflowSource

class VariableSpec(_message.Message):
    __slots__ = ("name", "type", "default_value", "description", "required", "choices")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_VALUE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    CHOICES_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: VariableType
    default_value: str
    description: str
    required: bool
    choices: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., type: _Optional[_Union[VariableType, str]] = ..., default_value: _Optional[str] = ..., description: _Optional[str] = ..., required: _Optional[bool] = ..., choices: _Optional[_Iterable[str]] = ...) -> None: ...

class RetryPolicy(_message.Message):
    __slots__ = ("attempts", "delay", "backoff_factor", "max_delay")
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    DELAY_FIELD_NUMBER: _ClassVar[int]
    BACKOFF_FACTOR_FIELD_NUMBER: _ClassVar[int]
    MAX_DELAY_FIELD_NUMBER: _ClassVar[int]
    attempts: int
    delay: _duration_pb2.Duration
    backoff_factor: float
    max_delay: _duration_pb2.Duration
    def __init__(self, attempts: _Optional[int] = ..., delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., backoff_factor: _Optional[float] = ..., max_delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ShellCommandSpec(_message.Message):
    __slots__ = ("command", "shell")
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    SHELL_FIELD_NUMBER: _ClassVar[int]
    command: str
    shell: str
    def __init__(self, command: _Optional[str] = ..., shell: _Optional[str] = ...) -> None: ...

class PythonScriptSpec(_message.Message):
    __slots__ = ("script", "file", "args")
    SCRIPT_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    script: str
    file: str
    args: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, script: _Optional[str] = ..., file: _Optional[str] = ..., args: _Optional[_Iterable[str]] = ...) -> None: ...

class FileOperationSpec(_message.Message):
    __slots__ = ("operation", "source", "destination", "content", "mode", "format", "recursive")
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    RECURSIVE_FIELD_NUMBER: _ClassVar[int]
    operation: str
    source: str
    destination: str
    content: str
    mode: str
    format: str
    recursive: bool
    def __init__(self, operation: _Optional[str] = ..., source: _Optional[str] = ..., destination: _Optional[str] = ..., content: _Optional[str] = ..., mode: _Optional[str] = ..., format: _Optional[str] = ..., recursive: _Optional[bool] = ...) -> None: ...

class ServiceManagementSpec(_message.Message):
    __slots__ = ("action", "service_name", "service_type")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    SERVICE_NAME_FIELD_NUMBER: _ClassVar[int]
    SERVICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    action: str
    service_name: str
    service_type: str
    def __init__(self, action: _Optional[str] = ..., service_name: _Optional[str] = ..., service_type: _Optional[str] = ...) -> None: ...

class GitOperationSpec(_message.Message):
    __slots__ = ("operation", "repository_url", "branch", "message", "tag", "remote")
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    REPOSITORY_URL_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    REMOTE_FIELD_NUMBER: _ClassVar[int]
    operation: str
    repository_url: str
    branch: str
    message: str
    tag: str
    remote: str
    def __init__(self, operation: _Optional[str] = ..., repository_url: _Optional[str] = ..., branch: _Optional[str] = ..., message: _Optional[str] = ..., tag: _Optional[str] = ..., remote: _Optional[str] = ...) -> None: ...

class HealthCheckSpec(_message.Message):
    __slots__ = ("check_type", "url", "expected_status", "host", "port", "path", "threshold_percent", "process_name", "body_contains", "service_name", "wait_timeout", "interval")
    CHECK_TYPE_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_STATUS_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_PERCENT_FIELD_NUMBER: _ClassVar[int]
    PROCESS_NAME_FIELD_NUMBER: _ClassVar[int]
    BODY_CONTAINS_FIELD_NUMBER: _ClassVar[int]
    SERVICE_NAME_FIELD_NUMBER: _ClassVar[int]
    WAIT_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    check_type: str
    url: str
    expected_status: int
    host: str
    port: int
    path: str
    threshold_percent: float
    process_name: str
    body_contains: str
    service_name: str
    wait_timeout: _duration_pb2.Duration
    interval: _duration_pb2.Duration
    def __init__(self, check_type: _Optional[str] = ..., url: _Optional[str] = ..., expected_status: _Optional[int] = ..., host: _Optional[str] = ..., port: _Optional[int] = ..., path: _Optional[str] = ..., threshold_percent: _Optional[float] = ..., process_name: _Optional[str] = ..., body_contains: _Optional[str] = ..., service_name: _Optional[str] = ..., wait_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ApiCallSpec(_message.Message):
    __slots__ = ("url", "method", "headers", "data", "json", "expected_status", "extract")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class ExtractEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    URL_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    JSON_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_STATUS_FIELD_NUMBER: _ClassVar[int]
    EXTRACT_FIELD_NUMBER: _ClassVar[int]
    url: str
    method: str
    headers: _containers.ScalarMap[str, str]
    data: str
    json: _struct_pb2.Value
    expected_status: int
    extract: _containers.ScalarMap[str, str]
    def __init__(self, url: _Optional[str] = ..., method: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ..., data: _Optional[str] = ..., json: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., expected_status: _Optional[int] = ..., extract: _Optional[_Mapping[str, str]] = ...) -> None: ...

class SubWorkflowSpec(_message.Message):
    __slots__ = ("workflow", "parameters")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    workflow: str
    parameters: _containers.ScalarMap[str, str]
    def __init__(self, workflow: _Optional[str] = ..., parameters: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CustomTaskSpec(_message.Message):
    __slots__ = ("fields",)
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    fields: _struct_pb2.Struct
    def __init__(self, fields: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class TaskConfig(_message.Message):
    __slots__ = ("id", "name", "type", "dependencies", "timeout", "env", "retry", "condition", "continue_on_error", "working_directory", "shell_command", "python_script", "file_operation", "service_management", "git_operation", "health_check", "api_call", "workflow", "custom")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DEPENDENCIES_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    RETRY_FIELD_NUMBER: _ClassVar[int]
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    CONTINUE_ON_ERROR_FIELD_NUMBER: _ClassVar[int]
    WORKING_DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    SHELL_COMMAND_FIELD_NUMBER: _ClassVar[int]
    PYTHON_SCRIPT_FIELD_NUMBER: _ClassVar[int]
    FILE_OPERATION_FIELD_NUMBER: _ClassVar[int]
    SERVICE_MANAGEMENT_FIELD_NUMBER: _ClassVar[int]
    GIT_OPERATION_FIELD_NUMBER: _ClassVar[int]
    HEALTH_CHECK_FIELD_NUMBER: _ClassVar[int]
    API_CALL_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    type: str
    dependencies: _containers.RepeatedScalarFieldContainer[str]
    timeout: _duration_pb2.Duration
    env: _containers.ScalarMap[str, str]
    retry: RetryPolicy
    condition: RunCondition
    continue_on_error: bool
    working_directory: str
    shell_command: ShellCommandSpec
    python_script: PythonScriptSpec
    file_operation: FileOperationSpec
    service_management: ServiceManagementSpec
    git_operation: GitOperationSpec
    health_check: HealthCheckSpec
    api_call: ApiCallSpec
    workflow: SubWorkflowSpec
    custom: CustomTaskSpec
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[str] = ..., dependencies: _Optional[_Iterable[str]] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., env: _Optional[_Mapping[str, str]] = ..., retry: _Optional[_Union[RetryPolicy, _Mapping]] = ..., condition: _Optional[_Union[RunCondition, str]] = ..., continue_on_error: _Optional[bool] = ..., working_directory: _Optional[str] = ..., shell_command: _Optional[_Union[ShellCommandSpec, _Mapping]] = ..., python_script: _Optional[_Union[PythonScriptSpec, _Mapping]] = ..., file_operation: _Optional[_Union[FileOperationSpec, _Mapping]] = ..., service_management: _Optional[_Union[ServiceManagementSpec, _Mapping]] = ..., git_operation: _Optional[_Union[GitOperationSpec, _Mapping]] = ..., health_check: _Optional[_Union[HealthCheckSpec, _Mapping]] = ..., api_call: _Optional[_Union[ApiCallSpec, _Mapping]] = ..., workflow: _Optional[_Union[SubWorkflowSpec, _Mapping]] = ..., custom: _Optional[_Union[CustomTaskSpec, _Mapping]] = ...) -> None: ...

class WorkflowConfig(_message.Message):
    __slots__ = ("name", "description", "version", "variables", "tasks", "max_parallel", "timeout")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    MAX_PARALLEL_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    version: str
    variables: _containers.RepeatedCompositeFieldContainer[VariableSpec]
    tasks: _containers.RepeatedCompositeFieldContainer[TaskConfig]
    max_parallel: int
    timeout: _duration_pb2.Duration
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., version: _Optional[str] = ..., variables: _Optional[_Iterable[_Union[VariableSpec, _Mapping]]] = ..., tasks: _Optional[_Iterable[_Union[TaskConfig, _Mapping]]] = ..., max_parallel: _Optional[int] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Template(_message.Message):
    __slots__ = ("name", "path", "valid", "issues", "description", "version", "variables", "task_count", "definition_hash", "loaded_at", "active")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    VALID_FIELD_NUMBER: _ClassVar[int]
    ISSUES_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    TASK_COUNT_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_HASH_FIELD_NUMBER: _ClassVar[int]
    LOADED_AT_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    name: str
    path: str
    valid: bool
    issues: _containers.RepeatedCompositeFieldContainer[_common_pb2.ValidationIssue]
    description: str
    version: str
    variables: _containers.RepeatedCompositeFieldContainer[VariableSpec]
    task_count: int
    definition_hash: str
    loaded_at: _timestamp_pb2.Timestamp
    active: bool
    def __init__(self, name: _Optional[str] = ..., path: _Optional[str] = ..., valid: _Optional[bool] = ..., issues: _Optional[_Iterable[_Union[_common_pb2.ValidationIssue, _Mapping]]] = ..., description: _Optional[str] = ..., version: _Optional[str] = ..., variables: _Optional[_Iterable[_Union[VariableSpec, _Mapping]]] = ..., task_count: _Optional[int] = ..., definition_hash: _Optional[str] = ..., loaded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., active: _Optional[bool] = ...) -> None: ...

class Workflow(_message.Message):
    __slots__ = ("name", "description", "version", "source", "template_name", "definition_hash", "config", "created_at", "updated_at", "variable_values")
    class VariableValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_NAME_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_HASH_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    VARIABLE_VALUES_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    version: str
    source: WorkflowSource
    template_name: str
    definition_hash: str
    config: WorkflowConfig
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    variable_values: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., version: _Optional[str] = ..., source: _Optional[_Union[WorkflowSource, str]] = ..., template_name: _Optional[str] = ..., definition_hash: _Optional[str] = ..., config: _Optional[_Union[WorkflowConfig, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., variable_values: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ListTemplatesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTemplatesResponse(_message.Message):
    __slots__ = ("templates",)
    TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    templates: _containers.RepeatedCompositeFieldContainer[Template]
    def __init__(self, templates: _Optional[_Iterable[_Union[Template, _Mapping]]] = ...) -> None: ...

class GetTemplateRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListWorkflowsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListWorkflowsResponse(_message.Message):
    __slots__ = ("workflows",)
    WORKFLOWS_FIELD_NUMBER: _ClassVar[int]
    workflows: _containers.RepeatedCompositeFieldContainer[Workflow]
    def __init__(self, workflows: _Optional[_Iterable[_Union[Workflow, _Mapping]]] = ...) -> None: ...

class GetWorkflowRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CreateWorkflowRequest(_message.Message):
    __slots__ = ("name", "from_template", "config", "definition_yaml")
    class FromTemplate(_message.Message):
        __slots__ = ("template", "variables")
        class VariablesEntry(_message.Message):
            __slots__ = ("key", "value")
            KEY_FIELD_NUMBER: _ClassVar[int]
            VALUE_FIELD_NUMBER: _ClassVar[int]
            key: str
            value: str
            def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
        TEMPLATE_FIELD_NUMBER: _ClassVar[int]
        VARIABLES_FIELD_NUMBER: _ClassVar[int]
        template: str
        variables: _containers.ScalarMap[str, str]
        def __init__(self, template: _Optional[str] = ..., variables: _Optional[_Mapping[str, str]] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    FROM_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_YAML_FIELD_NUMBER: _ClassVar[int]
    name: str
    from_template: CreateWorkflowRequest.FromTemplate
    config: WorkflowConfig
    definition_yaml: str
    def __init__(self, name: _Optional[str] = ..., from_template: _Optional[_Union[CreateWorkflowRequest.FromTemplate, _Mapping]] = ..., config: _Optional[_Union[WorkflowConfig, _Mapping]] = ..., definition_yaml: _Optional[str] = ...) -> None: ...

class DeleteWorkflowRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteWorkflowResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ValidateWorkflowRequest(_message.Message):
    __slots__ = ("config", "definition_yaml", "file_name")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_YAML_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    config: WorkflowConfig
    definition_yaml: str
    file_name: str
    def __init__(self, config: _Optional[_Union[WorkflowConfig, _Mapping]] = ..., definition_yaml: _Optional[str] = ..., file_name: _Optional[str] = ...) -> None: ...

class ValidateWorkflowResponse(_message.Message):
    __slots__ = ("valid", "issues", "name", "task_count")
    VALID_FIELD_NUMBER: _ClassVar[int]
    ISSUES_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TASK_COUNT_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    issues: _containers.RepeatedCompositeFieldContainer[_common_pb2.ValidationIssue]
    name: str
    task_count: int
    def __init__(self, valid: _Optional[bool] = ..., issues: _Optional[_Iterable[_Union[_common_pb2.ValidationIssue, _Mapping]]] = ..., name: _Optional[str] = ..., task_count: _Optional[int] = ...) -> None: ...
