"""DescribeConfigs (key 32), versions 0-4.

Topic resources list every topic-level key with its effective value and source (a topic
override, a broker setting, or Kafka's default) and, on request, the synonyms behind it;
broker resources list the broker keys kpy knows and the names set dynamically (the cluster
default, an empty name, lists only what is set at that level, as Kafka does). Sensitive values
are never shown. An empty list of keys asks for every config, as a null one does.

As in Kafka, a resource of a type it does not know refuses the whole request (INVALID_REQUEST
for every resource, no configs listed), and a topic name is checked before it is looked up.
"""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.handlers.configs import BROKER, BROKER_LOGGER, TOPIC, check_broker_name, topic_of
from kpy.handlers.errors import ItemError
from kpy.metadata import validate_topic_name
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.describe_configs import DescribeConfigsRequest, DescribeConfigsResponse

Result = DescribeConfigsResponse.DescribeConfigsResult
Entry = DescribeConfigsResponse.DescribeConfigsResourceResult
Synonym = DescribeConfigsResponse.DescribeConfigsSynonym
SOURCE_DEFAULT = 5
# Kafka's ConfigResource types (client metrics and groups kpy does not describe).
KNOWN_TYPES = (TOPIC, BROKER, BROKER_LOGGER, 16, 32)
# Kafka's text for INVALID_REQUEST, given when the whole request is refused.
MALFORMED = (
    "This most likely occurs because of a request being malformed by the client library or "
    "the message was sent to an incompatible broker. See the broker logs for more details."
)


@handles(32, 0, 4)
async def describe_configs(
    ctx: RequestContext, req: DescribeConfigsRequest
) -> DescribeConfigsResponse:
    broker = ctx.broker
    response = DescribeConfigsResponse()
    if any(res.resource_type not in KNOWN_TYPES for res in req.resources):
        response.results = [
            Result(
                error_code=ErrorCode.INVALID_REQUEST,
                error_message=MALFORMED,
                resource_type=res.resource_type,
                resource_name=res.resource_name,
            )
            for res in req.resources
        ]
        return response
    for res in req.resources:
        result = Result(resource_type=res.resource_type, resource_name=res.resource_name)
        response.results.append(result)
        with ItemError() as refused:
            if res.resource_type == TOPIC:
                validate_topic_name(res.resource_name)
                entries = broker.config.describe_topic_config(
                    topic_of(broker, res.resource_name).configs
                )
            elif res.resource_type == BROKER:
                check_broker_name(broker, res.resource_name)
                entries = broker.config.describe_broker_config(per_broker=res.resource_name != "")
            elif res.resource_type == BROKER_LOGGER:
                if res.resource_name == "":  # loggers have no cluster default
                    raise KafkaError(ErrorCode.INVALID_REQUEST, "Broker id must not be empty")
                check_broker_name(broker, res.resource_name)
                entries = iter(())
            else:
                raise KafkaError(
                    ErrorCode.INVALID_REQUEST, f"Unsupported resource type {res.resource_type}"
                )
            # No keys, or an empty list (as Kafka reads it), asks for every config.
            keys = set(res.configuration_keys) if res.configuration_keys else None
            for e in entries:
                if keys is not None and e.name not in keys:
                    continue
                result.configs.append(
                    Entry(
                        name=e.name,
                        value=e.value,
                        read_only=e.read_only,
                        is_default=e.source == SOURCE_DEFAULT,
                        config_source=e.source,
                        is_sensitive=e.sensitive,
                        synonyms=[Synonym(name=n, value=v, source=s) for n, v, s in e.synonyms]
                        if req.include_synonyms
                        else [],
                        config_type=e.type,
                    )
                )
        result.error_code, result.error_message = refused.code, refused.message
    return response
